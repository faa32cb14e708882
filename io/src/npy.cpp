// The NumPy .npy reader. See tapegrad/io/npy.hpp.
#include "tapegrad/io/npy.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "lexing.hpp"
#include "readers.hpp"

namespace tapegrad::io {

namespace detail {

namespace {

/// The header dictionary of a .npy file: {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }.
struct NpyHeader {
  std::string_view descr;
  std::size_t descr_at = 0;
  bool fortran = false;
  std::vector<std::int64_t> shape;
  std::size_t shape_at = 0;
};

NpyHeader parse_npy_header(const NpyReader& r, std::size_t start, std::size_t end) {
  const std::string_view b = r.b_;
  std::size_t p = start;
  auto ws = [&] {
    while (p < end && (b[p] == ' ' || b[p] == '\t' || b[p] == '\n' || b[p] == '\r')) ++p;
  };
  auto at = [&](char c) { return p < end && b[p] == c; };
  // Skips white space, then c if it is next: whether it was.
  auto skip = [&](char c) {
    ws();
    if (!at(c)) return false;
    ++p;
    return true;
  };
  auto expect = [&](char c, const char* what) {
    if (!skip(c))
      r.fail(p, std::string("bad .npy header: expected ") + what + ", found '" +
                    snippet(b.substr(p, p < end ? std::min<std::size_t>(end - p, 12) : 0)) + "'");
  };
  auto string_literal = [&]() -> std::string_view {
    ws();
    if (p >= end || (b[p] != '\'' && b[p] != '"')) r.fail(p, "bad .npy header: expected a quoted string");
    const char q = b[p++];
    const std::size_t s = p;
    while (p < end && b[p] != q) {
      if (b[p] == '\\') r.fail(p, "bad .npy header: escapes in strings are not supported");
      ++p;
    }
    if (p >= end) r.fail(s - 1, "bad .npy header: unterminated string");
    return b.substr(s, p++ - s);
  };
  NpyHeader h;
  bool have_descr = false, have_order = false, have_shape = false;
  expect('{', "'{'");
  while (!skip('}')) {
    const std::size_t key_at = p;
    const std::string_view key = string_literal();
    expect(':', "':'");
    ws();
    if (key == "descr") {
      if (have_descr) r.fail(key_at, "bad .npy header: 'descr' appears twice");
      have_descr = true;
      h.descr_at = p;
      if (at('[')) r.fail(p, "structured dtypes are not supported: save a plain float64 or float32 array");
      h.descr = string_literal();
    } else if (key == "fortran_order") {
      if (have_order) r.fail(key_at, "bad .npy header: 'fortran_order' appears twice");
      have_order = true;
      if (b.substr(p, 4) == "True" && p + 4 <= end) {
        h.fortran = true;
        p += 4;
      } else if (b.substr(p, 5) == "False" && p + 5 <= end) {
        p += 5;
      } else {
        r.fail(p, "bad .npy header: 'fortran_order' must be True or False");
      }
    } else if (key == "shape") {
      if (have_shape) r.fail(key_at, "bad .npy header: 'shape' appears twice");
      have_shape = true;
      h.shape_at = p;
      expect('(', "'(' to open the shape");
      while (!skip(')')) {
        if (h.shape.size() >= 32) r.fail(p, "bad .npy header: too many dimensions");
        if (p >= end || !is_digit(b[p]))
          r.fail(p, "bad .npy header: expected a dimension (a non-negative integer)");
        std::int64_t v = 0;
        while (p < end && is_digit(b[p])) {
          if (v > (std::int64_t{1} << 58)) r.fail(h.shape_at, "bad .npy header: a dimension is too large");
          v = v * 10 + (b[p++] - '0');
        }
        if (at('L')) ++p;  // Python 2 long
        h.shape.push_back(v);
        if (!skip(',') && !at(')')) r.fail(p, "bad .npy header: expected ',' or ')' in the shape");
      }
    } else {
      r.fail(key_at, "bad .npy header: unexpected key '" + snippet(key) + "'");
    }
    if (!skip(',') && !at('}')) r.fail(p, "bad .npy header: expected ',' or '}'");
  }
  ws();
  if (p != end)
    r.fail(p, "bad .npy header: unexpected '" + snippet(b.substr(p, end - p), 12) + "' after '}'");
  if (!have_descr) r.fail(start, "bad .npy header: no 'descr' (the dtype)");
  if (!have_order) r.fail(start, "bad .npy header: no 'fortran_order'");
  if (!have_shape) r.fail(start, "bad .npy header: no 'shape'");
  return h;
}

template <class T>
T load_scalar(const char* p, bool swap) {
  std::array<unsigned char, sizeof(T)> raw{};
  std::memcpy(raw.data(), p, sizeof(T));
  if (swap) std::reverse(raw.begin(), raw.end());
  T v;
  std::memcpy(&v, raw.data(), sizeof(T));
  return v;
}

}  // namespace

/// Parses the preamble and the header from `b`, the start of a file of file_size bytes (b holds at least the
/// header when the file does), checks that the rows in `keep` fit limits.max_elements and that exactly the
/// declared data follows.
NpyLayout parse_npy_layout(std::string_view b, std::size_t file_size, const std::string& name,
                           const ReadLimits& limits, const RowRange& keep) {
  NpyReader r(b, name);
  static constexpr std::string_view magic = "\x93NUMPY";
  if (b.substr(0, 6) != magic)
    r.fail(0, b.empty() ? "the file is empty: not a .npy file"
                        : "not a .npy file: it does not start with the magic bytes \\x93NUMPY");
  if (b.size() < 10) r.fail(b.size(), "truncated .npy file: it ends inside the preamble");
  const int major = static_cast<unsigned char>(b[6]), minor = static_cast<unsigned char>(b[7]);
  std::size_t header_len = 0, start = 0;
  if (major == 1) {
    header_len =
        static_cast<unsigned char>(b[8]) | (static_cast<std::size_t>(static_cast<unsigned char>(b[9])) << 8);
    start = 10;
  } else if (major == 2 || major == 3) {
    if (b.size() < 12) r.fail(b.size(), "truncated .npy file: it ends inside the preamble");
    for (int i = 3; i >= 0; --i) header_len = (header_len << 8) | static_cast<unsigned char>(b[8 + i]);
    start = 12;
  } else {
    r.fail(6, "unsupported .npy format version " + std::to_string(major) + "." + std::to_string(minor) +
                  " (versions 1.0, 2.0 and 3.0 are supported)");
  }
  if (header_len > file_size - start)
    r.fail(8, "the .npy header length (" + std::to_string(header_len) +
                  " bytes) is larger than the rest of the file (" + std::to_string(file_size - start) +
                  " bytes): the file is truncated or corrupt");
  if (header_len > b.size() - start)
    r.fail(
        8,
        "the .npy header is " + std::to_string(header_len) +
            " bytes; a block of rows is read from files whose header is under 1 MiB (read the whole file)");
  NpyLayout L;
  L.data_start = start + header_len;
  const NpyHeader h = parse_npy_header(r, start, L.data_start);
  L.fortran = h.fortran;
  L.shape_at = h.shape_at;

  const std::string_view d = h.descr;
  if (d.size() == 3 && (d[0] == '<' || d[0] == '>' || d[0] == '=') && d[1] == 'f' &&
      (d[2] == '8' || d[2] == '4')) {
    L.item = d[2] == '8' ? 8 : 4;
    L.swap = d[0] == '>';  // tapegrad runs on little-endian machines ('=' is native)
  } else {
    r.fail(h.descr_at, "unsupported dtype '" + snippet(d) +
                           "': only float64 ('<f8') and float32 ('<f4') arrays are read; convert with "
                           "a.astype(numpy.float64)");
  }
  if (h.shape.empty()) {
    r.fail(h.shape_at, "the array is 0-dimensional (a scalar), not a matrix");
  } else if (h.shape.size() == 1) {
    L.rows = 1;
    L.cols = static_cast<Index>(h.shape[0]);
  } else if (h.shape.size() == 2) {
    L.rows = static_cast<Index>(h.shape[0]);
    L.cols = static_cast<Index>(h.shape[1]);
  } else {
    r.fail(h.shape_at,
           "the array has " + std::to_string(h.shape.size()) + " dimensions; a matrix has 1 or 2");
  }
  if (L.rows == 0 || L.cols == 0)
    r.fail(h.shape_at,
           "the array is empty (shape " + std::to_string(L.rows) + "x" + std::to_string(L.cols) + ")");
  const Index kept = std::min(keep.end, L.rows) - std::min(keep.begin, L.rows);
  if (kept > limits.max_elements / L.cols)
    r.fail(h.shape_at, over_limit("the declared shape", keep, kept, L.cols) + " is more than the limit of " +
                           std::to_string(limits.max_elements) + " entries for a dense matrix");
  // Shapes beyond what a size_t can count in bytes are refused before multiplying.
  if (static_cast<std::size_t>(L.rows) >
      (std::numeric_limits<std::size_t>::max() / 8) / static_cast<std::size_t>(L.cols))
    r.fail(h.shape_at, "the declared shape " + std::to_string(L.rows) + "x" + std::to_string(L.cols) +
                           " is too large to address");
  const std::size_t need = static_cast<std::size_t>(L.rows) * static_cast<std::size_t>(L.cols) * L.item,
                    have = file_size - L.data_start;
  const std::string declared = "shape " + std::to_string(L.rows) + "x" + std::to_string(L.cols) + " " +
                               (L.item == 8 ? "float64" : "float32") + " (" + std::to_string(need) +
                               " bytes)";
  if (have < need)
    r.fail(file_size, "the header declares " + declared + " but only " + std::to_string(have) +
                          " bytes of data follow: the file is truncated or the header is wrong");
  if (have > need)
    r.fail(L.data_start + need, "the header declares " + declared + " but " + std::to_string(have - need) +
                                    " more bytes follow the data");
  return L;
}

/// The value at p, entry (i, j) of the matrix, at byte `offset` of the file; NaN and infinities are refused.
double npy_value(const NpyReader& r, const NpyLayout& L, const char* p, std::size_t offset, Index i,
                 Index j) {
  const double v =
      L.item == 8 ? load_scalar<double>(p, L.swap) : static_cast<double>(load_scalar<float>(p, L.swap));
  if (!std::isfinite(v))
    r.fail(offset, std::string("the value at row ") + std::to_string(i + 1) + ", column " +
                       std::to_string(j + 1) + " is " + (std::isnan(v) ? "NaN" : "infinite") +
                       ": NaN and infinite values make an SVD meaningless; replace or remove them");
  return v;
}

namespace {

Matrix<double> parse_npy_impl(std::string_view b, const std::string& name, const ReadLimits& limits) {
  NpyReader r(b, name);
  if (b.size() > limits.max_bytes)
    throw ParseError(name, 0, 0,
                     "the input is " + std::to_string(b.size()) + " bytes, more than the limit of " +
                         std::to_string(limits.max_bytes));
  const NpyLayout L = parse_npy_layout(b, b.size(), name, limits, {});
  Matrix<double> m(L.rows, L.cols);
  const auto rows = static_cast<std::size_t>(L.rows), cols = static_cast<std::size_t>(L.cols);
  for (std::size_t k = 0; k < rows * cols; ++k) {
    const auto i = static_cast<Index>(L.fortran ? k % rows : k / cols);
    const auto j = static_cast<Index>(L.fortran ? k / rows : k % cols);
    const std::size_t offset = L.data_start + k * L.item;
    m(i, j) = npy_value(r, L, b.data() + offset, offset, i, j);
  }
  return m;
}

}  // namespace

}  // namespace detail

Matrix<double> parse_npy(std::string_view bytes, const std::string& name, const ReadLimits& limits) {
  return detail::parse_npy_impl(bytes, name, limits);
}

}  // namespace tapegrad::io
