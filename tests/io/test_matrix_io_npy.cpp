// The .npy reader (parse_npy): dtypes, byte orders, C and Fortran order, format versions, and hostile input
// (lying header lengths, bad dictionaries, unsupported dtypes and shapes, truncation), each error with its
// byte column.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <string>

#include "matrix_io_check.hpp"
#include "tapegrad/io.hpp"

using namespace tapegrad;
using namespace tapegrad::io;
using namespace tapegrad::test;
using Catch::Matchers::Contains;

// ==== NPY: valid

TEST_CASE("npy: float64, C order", "[npy]") {
  const std::string f = npy(header("<f8", "(2, 3)"), bytes_of<double>({1, 2, 3, 4, 5, 6}));
  CHECK(parse_npy(f, "t") == mat(2, 3, {1, 2, 3, 4, 5, 6}));
}

TEST_CASE("npy: float32, Fortran order", "[npy]") {
  const std::string f = npy(header("<f4", "(2, 3)", true), bytes_of<float>({1, 4, 2, 5, 3, 6.5f}));
  CHECK(parse_npy(f, "t") == mat(2, 3, {1, 2, 3, 4, 5, 6.5}));
}

TEST_CASE("npy: big-endian data is byte-swapped", "[npy]") {
  CHECK(parse_npy(npy(header(">f8", "(1, 2)"), bytes_of<double>({1.25, -3}, true)), "t") ==
        mat(1, 2, {1.25, -3}));
  CHECK(parse_npy(npy(header(">f4", "(2,)"), bytes_of<float>({0.5f, 8}, true)), "t") == mat(1, 2, {0.5, 8}));
}

TEST_CASE("npy: 1-D arrays read as one row; format versions 2 and 3; header spellings", "[npy]") {
  CHECK(parse_npy(npy(header("<f8", "(3,)"), bytes_of<double>({1, 2, 3})), "t") == mat(1, 3, {1, 2, 3}));
  CHECK(parse_npy(npy(header("<f8", "(1, 2)"), bytes_of<double>({1, 2}), 2), "t") == mat(1, 2, {1, 2}));
  CHECK(parse_npy(npy(header("<f8", "(2, 1)"), bytes_of<double>({1, 2}), 3), "t") == mat(2, 1, {1, 2}));
  // Python 2 longs, double quotes, key order, no trailing comma
  const std::string d = "{\"shape\": (2L, 1L), \"fortran_order\": False, \"descr\": \"<f8\"}";
  CHECK(parse_npy(npy(d, bytes_of<double>({7, 8})), "t") == mat(2, 1, {7, 8}));
}

// ==== NPY: hostile

TEST_CASE("npy: not a .npy file", "[npy][hostile]") {
  npy_error("", 1, "the file is empty");
  npy_error("NUMPY\x01\x00", 1, "does not start with the magic bytes");
  npy_error("\x93NUMPY\x01", 8, "truncated .npy file: it ends inside the preamble");
  npy_error(std::string("\x93NUMPY\x02\x00\x10\x00", 10), 11, "ends inside the preamble");
  npy_error(std::string("\x93NUMPY\x04\x00\x10\x00\x00\x00", 12), 7, "unsupported .npy format version 4.0");
}

TEST_CASE("npy: lying header lengths", "[npy][hostile]") {
  npy_error(std::string("\x93NUMPY\x01\x00\xff\xff{'descr'", 18), 9, "the .npy header length (65535 bytes)");
  npy_error(std::string("\x93NUMPY\x02\x00\xff\xff\xff\xff{}", 14), 9,
            "the .npy header length (4294967295 bytes)");
}

TEST_CASE("npy: bad header dictionaries", "[npy][hostile]") {
  const std::string data = bytes_of<double>({1});
  npy_error(npy("[1, 2]", data), 11, "expected '{'");
  npy_error(npy("{'descr': '<f8', 'fortran_order': Maybe, 'shape': (1, 1), }", data), 45,
            "'fortran_order' must be True or False");
  npy_error(npy("{'descr': '<f8', 'fortran_order': False, }", data), 11, "no 'shape'");
  npy_error(npy("{'fortran_order': False, 'shape': (1,), }", data), 11, "no 'descr'");
  npy_error(npy("{'descr': '<f8', 'shape': (1,), }", data), 11, "no 'fortran_order'");
  npy_error(npy("{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", data), 28,
            "'descr' appears twice");
  npy_error(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'extra': 1}", data), 67,
            "unexpected key 'extra'");
  npy_error(npy("{'descr': '<f8, 'fortran_order': False, 'shape': (1,), }", data), 28, "expected ',' or '}'");
  npy_error(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1, x), }", data), 65,
            "expected a dimension");
  npy_error(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1,) } junk", data), 68, "after '}'");
  npy_error(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999, 1), }", data), 61,
            "a dimension is too large");
  npy_error(npy("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1,), }", data), 21,
            "structured dtypes are not supported");
  npy_error(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1", data), 65, "expected ',' or ')'");
  npy_error(npy("{'descr': 'a\\'b', 'fortran_order': False, 'shape': (1,), }", data), 23, "escapes");
}

TEST_CASE("npy: unsupported dtypes", "[npy][hostile]") {
  for (const char* d : {"<i8", "<i4", "|u1", "<f2", "<c16", "|b1", "<U10", "O"}) {
    INFO(d);
    npy_error(npy(header(d, "(1, 1)"), std::string(8, '\0')), 21,
              std::string("unsupported dtype '") + d + "': only float64 ('<f8') and float32 ('<f4')");
  }
}

TEST_CASE("npy: unsupported shapes", "[npy][hostile]") {
  const std::string data = bytes_of<double>({1});
  npy_error(npy(header("<f8", "()"), data), 61, "0-dimensional");
  npy_error(npy(header("<f8", "(1, 1, 1)"), data), 61, "the array has 3 dimensions");
  npy_error(npy(header("<f8", "(0, 3)"), ""), 61, "the array is empty (shape 0x3)");
  npy_error(npy(header("<f8", "(0,)"), ""), 61, "the array is empty");
}

TEST_CASE("npy: declared shapes far larger than the file (no allocation)", "[npy][hostile]") {
  const std::string small = bytes_of<double>({1, 2});
  const std::string d1 = header("<f8", "(1000, 1000)");
  npy_error(npy(d1, small), data_column(d1) + 16,
            "the header declares shape 1000x1000 float64 (8000000 bytes) but only 16 bytes of data follow");
  npy_error(npy(header("<f8", "(4000000000, 4000000000)"), small), 61,
            "more than the limit of 67108864 entries");
  npy_error(npy(header("<f8", "(4611686018427387904, 4)"), small), 61, "a dimension is too large");
  ReadLimits limits;
  limits.max_elements = 3;
  npy_error(npy(header("<f8", "(2, 2)"), bytes_of<double>({1, 2, 3, 4})), 61, "more than the limit of 3",
            limits);
}

TEST_CASE("npy: truncated and trailing data", "[npy][hostile]") {
  const std::string d = header("<f8", "(2, 2)");
  npy_error(npy(d, bytes_of<double>({1, 2, 3})), data_column(d) + 24, "only 24 bytes of data follow");
  npy_error(npy(d, bytes_of<double>({1, 2, 3, 4}) + "xyz"), data_column(d) + 32,
            "but 3 more bytes follow the data");
  npy_error(npy(header("<f4", "(2, 2)"), bytes_of<float>({1, 2, 3}) + "\x01"), data_column(d) + 13,
            "only 13 bytes");
}

TEST_CASE("npy: NaN and infinite values are refused with their position", "[npy][hostile]") {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  const std::string d = header("<f8", "(2, 2)");
  npy_error(npy(d, bytes_of<double>({1, 2, nan, 4})), data_column(d) + 16,
            "the value at row 2, column 1 is NaN: NaN and infinite values make an SVD meaningless");
  const std::string f = header("<f4", "(2, 2)", true);
  npy_error(npy(f, bytes_of<float>({1, 2, static_cast<float>(inf), 4})), data_column(f) + 8,
            "the value at row 1, column 2 is infinite");
}
