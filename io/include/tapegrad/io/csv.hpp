// The CSV reader (tapegrad::io; errors and limits in errors.hpp, writing in write.hpp).
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>

#include "tapegrad/autodiff/matrix.hpp"
#include "tapegrad/io/errors.hpp"

namespace tapegrad::io {

/// CSV text: rows of numbers separated by commas or by spaces/tabs (one style per file); `#` starts a
/// comment; blank lines are skipped; LF, CRLF or CR line ends; an optional UTF-8 BOM. `name` is used in
/// errors.
Matrix<double> parse_csv(std::string_view text, const std::string& name, const ReadLimits& limits = {});

/// Reads a CSV stream to its end (at most limits.max_bytes) and parses it.
Matrix<double> read_csv(std::istream& in, const std::string& name, const ReadLimits& limits = {});

}  // namespace tapegrad::io
