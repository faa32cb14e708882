// Writing matrices and result files (tapegrad::io; IoError in errors.hpp).
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>

#include "tapegrad/autodiff/matrix.hpp"
#include "tapegrad/io/errors.hpp"

namespace tapegrad::io {

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

}  // namespace tapegrad::io
