// Matrix files: readers for CSV, Matrix Market (.mtx) and NumPy (.npy), and an atomic CSV writer.
//
// Every reader returns a dense Matrix<double> or throws ParseError naming the file, the line and the column
// ("FILE:LINE:COL: message", as compilers do). Readers never trust a size written in a file: declared shapes
// are checked against the bytes actually present and against ReadLimits before anything is allocated. NaN and
// infinite values are refused (the SVD of such a matrix is meaningless), and so are numbers that overflow a
// double.
//
// Positions: lines and columns are 1-based; the column counts bytes (a tab is one column; a UTF-8 BOM at the
// start of the file is not counted). In a .npy file, the line is always 1 and the column is the 1-based byte
// offset in the file. Errors about the whole file (cannot open it, too large) have line and column 0.
#pragma once

#include <cstddef>
#include <iosfwd>
#include <stdexcept>
#include <string>
#include <string_view>

#include "tapegrad/autodiff/matrix.hpp"

namespace tapegrad::svd {

/// A matrix file could not be read: what() is "FILE:LINE:COL: message" ("FILE: message" when line is 0).
class ParseError : public std::runtime_error {
 public:
  /// An error at `line`, `column` of `file` (0, 0: the whole file).
  ParseError(std::string file, long line, long column, std::string message);
  /// The file's name as given.
  const std::string& file() const noexcept { return file_; }
  long line() const noexcept { return line_; }      ///< 1-based; 0 when the error concerns the whole file
  long column() const noexcept { return column_; }  ///< 1-based byte column; 0 with line 0
  const std::string& message() const noexcept { return message_; }  ///< without the position

 private:
  std::string file_;
  long line_;
  long column_;
  std::string message_;
};

/// A result file could not be written (the message names the file and the system's reason).
class IoError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Upper bounds the readers enforce before allocating.
struct ReadLimits {
  std::size_t max_bytes = std::size_t{1} << 30;  ///< the largest file (or stdin) read: 1 GiB
  Index max_elements = Index{1} << 26;           ///< the largest dense matrix: 67,108,864 entries (512 MiB)
};

/// The matrix file formats the readers know.
enum class MatrixFormat { Csv, MatrixMarket, Npy };

/// CSV text: rows of numbers separated by commas or by spaces/tabs (one style per file); `#` starts a
/// comment; blank lines are skipped; LF, CRLF or CR line ends; an optional UTF-8 BOM. `name` is used in
/// errors.
Matrix<double> parse_csv(std::string_view text, const std::string& name, const ReadLimits& limits = {});
/// Matrix Market text: `%%MatrixMarket matrix array|coordinate real|double|integer general|symmetric|
/// skew-symmetric`. Coordinate duplicates are summed. Pattern, complex and hermitian files are refused.
Matrix<double> parse_matrix_market(std::string_view text, const std::string& name,
                                   const ReadLimits& limits = {});
/// NumPy .npy bytes: format versions 1.0, 2.0 and 3.0; dtype '<f8', '<f4', '>f8' or '>f4' (byte-swapped);
/// C or Fortran order; shape (m, n), or (n,) read as a 1×n row (as numpy.atleast_2d does).
Matrix<double> parse_npy(std::string_view bytes, const std::string& name, const ReadLimits& limits = {});

/// Reads a CSV stream to its end (at most limits.max_bytes) and parses it.
Matrix<double> read_csv(std::istream& in, const std::string& name, const ReadLimits& limits = {});
/// Reads a whole file (at most limits.max_bytes); throws ParseError (line 0) if it cannot.
std::string read_file_bytes(const std::string& path, const ReadLimits& limits = {});

/// The format for a path: .csv/.tsv/.txt → CSV, .mtx/.mm → Matrix Market, .npy → NumPy; "-" → CSV (stdin).
/// Other names are recognised by their content (the .npy magic, the %%MatrixMarket banner), else CSV.
/// Compressed or archive names (.gz, .bz2, .xz, .zst, .zip, .npz) are refused with ParseError.
MatrixFormat detect_format(const std::string& path, std::string_view head = {});
/// "csv", "mtx" or "npy".
const char* to_string(MatrixFormat f);

/// Reads a matrix file in the format of its name (see detect_format); "-" reads CSV from stdin.
Matrix<double> read_matrix(const std::string& path, const ReadLimits& limits = {});

/// The number of rows and columns of a matrix file, without reading its values where the format allows:
/// a .npy or Matrix Market file's header; a CSV file is scanned (its data rows counted, the first one
/// parsed). Throws ParseError as read_matrix does. Only regular files: stdin ("-"), pipes and devices are
/// refused with ParseError, as they cannot be read twice.
struct MatrixShape {
  Index rows = 0;  ///< row count
  Index cols = 0;  ///< column count
};
/// The shape of the matrix file at `path` (see MatrixShape).
MatrixShape read_matrix_shape(const std::string& path, const ReadLimits& limits = {});

/// Rows [begin, begin + count) of a matrix file, equal to read_matrix(path).middleRows(begin, count), without
/// building the rest (this is how each process of `mpirun tapegrad-svd` reads its block; docs/scale-out.md).
/// A .npy file is read by seeking: only its header and those rows' bytes. A CSV file is scanned and only the
/// first data row (for the column count) and the rows asked for are parsed; in a Matrix Market file every
/// entry's position is checked and only the values in those rows are parsed. ReadLimits::max_elements applies
/// to the block. So an error in a row outside the range may go unnoticed here (it is found by whoever reads
/// that row). Only regular files, as for read_matrix_shape. Throws std::invalid_argument for a negative begin
/// or count, ParseError (line 0) if the file has fewer rows.
Matrix<double> read_matrix_rows(const std::string& path, Index begin, Index count,
                                const ReadLimits& limits = {});

/// CSV text of m: values separated by ',', one row per line ('\n'), each value in the shortest form that
/// reads back to the same double (non-finite values as nan, inf, -inf).
std::string format_csv(const Matrix<double>& m);
/// Writes format_csv(m) to `out`.
void write_csv(std::ostream& out, const Matrix<double>& m);

/// Writes content to path atomically: a temporary file in the same directory, flushed to disk, then renamed
/// over path. An interrupted run leaves either the old file or the new one, never half of one. Throws
/// IoError.
void write_file_atomic(const std::string& path, std::string_view content);
/// write_file_atomic(path, format_csv(m)).
void write_matrix_csv(const std::string& path, const Matrix<double>& m);

}  // namespace tapegrad::svd
