// Matrix files by path: the format from the name or the content, whole files, shapes and blocks of rows
// (tapegrad::io; errors and limits in errors.hpp, the readers of each format in csv.hpp, matrix_market.hpp
// and npy.hpp).
#pragma once

#include <string>
#include <string_view>

#include "tapegrad/autodiff/matrix.hpp"
#include "tapegrad/io/errors.hpp"

namespace tapegrad::io {

/// The matrix file formats the readers know.
enum class MatrixFormat { Csv, MatrixMarket, Npy };

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

}  // namespace tapegrad::io
