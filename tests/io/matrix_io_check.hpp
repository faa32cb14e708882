// Helpers of the matrix reader tests (test_matrix_io_*.cpp): checking a ParseError's position and message,
// a matrix from literal rows, .npy files built byte by byte, and a temporary directory for files.
#pragma once

#include <stdlib.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <stdexcept>
#include <string>

#include "tapegrad/io.hpp"

namespace tapegrad::test {

namespace fs = std::filesystem;

template <class F>
io::ParseError parse_error(F&& f) {
  try {
    f();
  } catch (const io::ParseError& e) {
    return e;
  }
  FAIL("no ParseError was thrown");
  throw std::logic_error("unreachable");
}

/// The error f throws has this position and its message contains `what`; what() is "FILE:LINE:COL: message".
template <class F>
void check_error(F&& f, long line, long column, const std::string& what, const std::string& file = "t") {
  const io::ParseError e = parse_error(f);
  INFO(e.what());
  CHECK(e.file() == file);
  CHECK(e.line() == line);
  CHECK(e.column() == column);
  CHECK_THAT(e.message(), Catch::Matchers::Contains(what));
  if (line > 0)
    CHECK(std::string(e.what()) ==
          file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + e.message());
}

inline void csv_error(const std::string& text, long line, long column, const std::string& what,
                      const io::ReadLimits& limits = {}) {
  check_error([&] { io::parse_csv(text, "t", limits); }, line, column, what);
}
inline void mtx_error(const std::string& text, long line, long column, const std::string& what,
                      const io::ReadLimits& limits = {}) {
  check_error([&] { io::parse_matrix_market(text, "t", limits); }, line, column, what);
}
inline void npy_error(const std::string& bytes, long column, const std::string& what,
                      const io::ReadLimits& limits = {}) {
  check_error([&] { io::parse_npy(bytes, "t", limits); }, 1, column, what);
}

inline Matrix<double> mat(Index rows, Index cols, std::initializer_list<double> row_major) {
  Matrix<double> m(rows, cols);
  auto it = row_major.begin();
  for (Index i = 0; i < rows; ++i)
    for (Index j = 0; j < cols; ++j) m(i, j) = *it++;
  return m;
}

// ---- .npy construction

inline std::string npy(const std::string& dict, const std::string& data, int major = 1) {
  std::string h = dict;
  const std::size_t pre = major == 1 ? 10 : 12;
  const std::size_t total = pre + h.size() + 1;
  h += std::string((64 - total % 64) % 64, ' ') + "\n";
  std::string out = "\x93NUMPY";
  out += static_cast<char>(major);
  out += '\0';
  const std::size_t n = h.size();
  out += static_cast<char>(n & 0xff);
  out += static_cast<char>((n >> 8) & 0xff);
  if (major != 1) {
    out += static_cast<char>((n >> 16) & 0xff);
    out += static_cast<char>((n >> 24) & 0xff);
  }
  return out + h + data;
}

inline std::string header(const std::string& descr, const std::string& shape, bool fortran = false) {
  return "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") +
         ", 'shape': " + shape + ", }";
}

template <class T>
std::string bytes_of(std::initializer_list<T> values, bool big_endian = false) {
  std::string out;
  for (T v : values) {
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    if (big_endian) std::reverse(b, b + sizeof(T));
    out.append(b, sizeof(T));
  }
  return out;
}

/// Offset (1-based column) of the data in an npy() file made from this dict.
inline long data_column(const std::string& dict, int major = 1) {
  return static_cast<long>(npy(dict, "", major).size()) + 1;
}

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "tapegrad-io-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name, const std::string& content) const {
    const std::string p = (path / name).string();
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }
};

}  // namespace tapegrad::test
