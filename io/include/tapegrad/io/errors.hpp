// What every matrix reader and writer shares: its errors and the limits it enforces.
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
#include <stdexcept>
#include <string>

#include "tapegrad/autodiff/matrix.hpp"

/// Matrix files: readers for CSV, Matrix Market and NumPy .npy, and writers (tapegrad/io.hpp).
namespace tapegrad::io {

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
  /// A coordinate (sparse) Matrix Market file lists only its nonzeros, so its bytes do not bound the dense
  /// matrix it declares: it may declare at most this many entries per byte of the file (and 2^20 whatever its
  /// size). 1024 lets an n×n diagonal through up to max_elements (8192×8192 takes about 100 KB).
  Index dense_per_byte = 1024;
};

}  // namespace tapegrad::io
