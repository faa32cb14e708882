// What the readers of each format offer the file-level readers (files.cpp), internal to tapegrad::io: a
// format's rows in a range with the whole file's shape, a .npy file's layout, and reading files and streams.
#pragma once

#include <cstddef>
#include <istream>
#include <string>
#include <string_view>

#include "lexing.hpp"
#include "tapegrad/autodiff/matrix.hpp"
#include "tapegrad/io/errors.hpp"

namespace tapegrad::io::detail {

// ---- CSV (csv.cpp)

/// A CSV text's rows in `keep` and its shape. Only the first data row (which fixes the column count and the
/// separator) and the rows kept are parsed; the others are counted (a line that is not blank or a comment
/// is a data row), so an error in them goes unnoticed here.
struct CsvRead {
  Matrix<double> m;
  Index rows = 0;  ///< data rows in the whole text
  Index cols = 0;
};
CsvRead parse_csv_impl(const Text& text, const ReadLimits& limits, const RowRange& keep = {});

// ---- Matrix Market (matrix_market.cpp)

/// A Matrix Market text's rows in `keep` and its shape; with header_only, just the shape (m is empty). Every
/// entry's position is checked; only the values of the rows kept are parsed.
struct MmRead {
  Matrix<double> m;
  Index rows = 0;
  Index cols = 0;
};
MmRead parse_matrix_market_impl(const Text& text, const ReadLimits& limits, const RowRange& keep = {},
                                bool header_only = false);

// ---- NPY (npy.cpp)

/// The bytes of a .npy file (or its start) and its name, for errors at a byte offset.
class NpyReader {
 public:
  NpyReader(std::string_view bytes, const std::string& name) : b_(bytes), name_(name) {}
  [[noreturn]] void fail(std::size_t offset, const std::string& message) const {
    throw ParseError(name_, 1, static_cast<long>(offset) + 1, message);
  }
  std::string_view b_;
  const std::string& name_;
};

/// Where a .npy file's values are and how to read them.
struct NpyLayout {
  Index rows = 0, cols = 0;
  std::size_t item = 0;  // 4 or 8 bytes
  bool swap = false;     // big-endian data
  bool fortran = false;  // column-major
  std::size_t data_start = 0;
  std::size_t shape_at = 0;  // for messages about the shape
};

/// Parses the preamble and the header from `b`, the start of a file of file_size bytes (b holds at least the
/// header when the file does), checks that the rows in `keep` fit limits.max_elements and that exactly the
/// declared data follows.
NpyLayout parse_npy_layout(std::string_view b, std::size_t file_size, const std::string& name,
                           const ReadLimits& limits, const RowRange& keep);

/// The value at p, entry (i, j) of the matrix, at byte `offset` of the file; NaN and infinities are refused.
double npy_value(const NpyReader& r, const NpyLayout& L, const char* p, std::size_t offset, Index i, Index j);

// ---- Reading files and streams (files.cpp)

/// strerror(errno).
std::string errno_text();

/// What a stream is expected to hold: text (a NUL byte stops the read: /dev/zero or a binary stream fails
/// fast instead of filling memory), a .npy file (a stream that does not start with its magic stops early, the
/// parser then says why), anything (Binary), or "look at the first bytes" (Sniff: Npy or Text).
enum class Expect { Text, Npy, Binary, Sniff };

/// Reads a stream to its end, at most limits.max_bytes.
std::string read_stream(std::istream& in, const std::string& name, const ReadLimits& limits, Expect expect);
/// Reads a file (a regular file in one read, else as a stream), at most limits.max_bytes.
std::string read_path(const std::string& path, const ReadLimits& limits, Expect expect);
/// The extension of a path in lower case, with its dot (".csv").
std::string lower_extension(const std::string& path);

}  // namespace tapegrad::io::detail
