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

#include "tapegrad/svd/matrix_io.hpp"

namespace tapegrad::fuzz {

// Small limits, so that a header lying about its size is caught by the checks rather than by the fuzzer's
// -rss_limit_mb (the checks are the same code whatever the limit).
inline const svd::ReadLimits kLimits{std::size_t{1} << 20, Index{1} << 16};

[[noreturn]] inline void fail(const char* what) {
  std::fprintf(stderr, "fuzz: broken promise: %s\n", what);
  std::abort();
}

template <class Parse>
int run(const std::uint8_t* data, std::size_t size, Parse parse) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  Matrix<double> m;
  try {
    m = parse(bytes, std::string("fuzz-input"), kLimits);
  } catch (const svd::ParseError& e) {
    // The message starts with the name and, for errors inside the file, a 1-based position within it.
    if (std::string_view(e.what()).substr(0, 10) != "fuzz-input") fail("ParseError without the file name");
    if (e.line() < 0 || e.column() < 0 || (e.line() == 0) != (e.column() == 0)) fail("bad error position");
    if (e.column() > static_cast<long>(size) + 1 && e.line() == 1) fail("error column beyond the input");
    if (e.message().size() > 1000) fail("error message longer than 1000 bytes");
    return 0;
  }
  // A matrix was read: non-empty, within the limits, every value finite, and it survives a CSV round trip.
  if (m.rows() < 1 || m.cols() < 1) fail("empty matrix returned");
  if (m.size() > kLimits.max_elements) fail("matrix larger than ReadLimits::max_elements");
  for (Index i = 0; i < m.size(); ++i)
    if (!std::isfinite(m.data()[i])) fail("non-finite value returned");
  const Matrix<double> back = svd::parse_csv(svd::format_csv(m), "round-trip");
  if (back.rows() != m.rows() || back.cols() != m.cols() || back != m)
    fail("CSV round trip changed the matrix");
  return 0;
}

}  // namespace tapegrad::fuzz
