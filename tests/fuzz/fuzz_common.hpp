// Shared body of the reader fuzz targets (libFuzzer): parse the bytes with one reader and check what the
// readers promise (docs/bad-inputs.md). A ParseError is the expected answer to bad input; anything else
// escaping the reader (another exception, a crash, a sanitizer report, a leak, a timeout, a large
// allocation) is a bug and stops the fuzzer with the input saved as an artifact.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tapegrad/io.hpp"

namespace tapegrad::fuzz {

// Small limits, so that a header lying about its size is caught by the checks rather than by the fuzzer's
// -rss_limit_mb (the checks are the same code whatever the limit).
inline const io::ReadLimits kLimits{std::size_t{1} << 20, Index{1} << 16};

[[noreturn]] inline void fail(const char* what) {
  std::fprintf(stderr, "fuzz: broken promise: %s\n", what);
  std::abort();
}

// For a text format: is (line, column) a place in the text, or just after its end? Lines end with LF, CRLF or
// a lone CR; a UTF-8 BOM is not counted; the column may point at the line end (CRLF: at either byte).
inline bool text_position_exists(std::string_view text, long line, long column) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  long l = 1;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    const bool end = i == text.size() || text[i] == '\n' || text[i] == '\r';
    if (!end) continue;
    if (l == line) return column >= 1 && static_cast<std::size_t>(column) <= i - start + 2;
    if (i < text.size() && text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
    start = i + 1;
    ++l;
  }
  return false;
}

template <class Parse>
int run(const std::uint8_t* data, std::size_t size, Parse parse, bool text) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  Matrix<double> m;
  try {
    m = parse(bytes, std::string("fuzz-input"), kLimits);
  } catch (const io::ParseError& e) {
    // The message starts with the name and, for errors inside the file, a 1-based position within it.
    if (std::string_view(e.what()).substr(0, 10) != "fuzz-input") fail("ParseError without the file name");
    if (e.line() < 0 || e.column() < 0 || (e.line() == 0) != (e.column() == 0)) fail("bad error position");
    if (e.line() > 0 && !text &&
        (e.line() != 1 || e.column() < 1 || e.column() > static_cast<long>(size) + 1))
      fail("error position outside the .npy bytes");
    if (e.line() > 0 && text && !text_position_exists(bytes, e.line(), e.column()))
      fail("error position outside the text");
    if (e.message().size() > 1000) fail("error message longer than 1000 bytes");
    return 0;
  }
  // A matrix was read: non-empty, within the limits, every value finite, and it survives a CSV round trip.
  if (m.rows() < 1 || m.cols() < 1) fail("empty matrix returned");
  if (m.size() > kLimits.max_elements) fail("matrix larger than ReadLimits::max_elements");
  for (Index i = 0; i < m.size(); ++i)
    if (!std::isfinite(m.data()[i])) fail("non-finite value returned");
  const Matrix<double> back = io::parse_csv(io::format_csv(m), "round-trip");
  if (back.rows() != m.rows() || back.cols() != m.cols() || back != m)
    fail("CSV round trip changed the matrix");
  return 0;
}

}  // namespace tapegrad::fuzz
