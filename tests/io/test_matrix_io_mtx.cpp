// The Matrix Market reader (parse_matrix_market): array and coordinate files, symmetric ones, and hostile
// input (banners, size lines, sizes far larger than the file, bad entries), each error with its position.
#include <catch2/catch.hpp>
#include <string>

#include "matrix_io_check.hpp"
#include "tapegrad/io.hpp"

using namespace tapegrad;
using namespace tapegrad::io;
using namespace tapegrad::test;
using Catch::Matchers::Contains;

// ==== Matrix Market: valid

TEST_CASE("mtx: array, general, column-major", "[mtx]") {
  const std::string t = "%%MatrixMarket matrix array real general\n% comment\n\n2 3\n1\n4\n2\n5\n3\n6\n";
  CHECK(parse_matrix_market(t, "t") == mat(2, 3, {1, 2, 3, 4, 5, 6}));
}

TEST_CASE("mtx: array, symmetric and skew-symmetric (lower triangle)", "[mtx]") {
  CHECK(parse_matrix_market("%%MatrixMarket matrix array real symmetric\n2 2\n1\n2\n3\n", "t") ==
        mat(2, 2, {1, 2, 2, 3}));
  CHECK(parse_matrix_market("%%MatrixMarket matrix array real skew-symmetric\n3 3\n1\n2\n3\n", "t") ==
        mat(3, 3, {0, -1, -2, 1, 0, -3, 2, 3, 0}));
}

TEST_CASE("mtx: coordinate, general; duplicates are summed; missing entries are zero", "[mtx]") {
  const std::string t =
      "%%MatrixMarket matrix coordinate real general\n2 3 4\n1 1 1.5\n2 3 -2\n1 1 0.5\n2 1 1e2\n";
  CHECK(parse_matrix_market(t, "t") == mat(2, 3, {2, 0, 0, 100, 0, -2}));
}

TEST_CASE("mtx: coordinate, symmetric, integer; CRLF, tabs, case-insensitive banner, BOM", "[mtx]") {
  const std::string t =
      "\xEF\xBB\xBF%%matrixmarket MATRIX Coordinate Integer Symmetric\r\n3 3 4\r\n1\t1\t2\r\n2 1 1\r\n3 3 "
      "4\r\n3 2 "
      "-1\r\n";
  CHECK(parse_matrix_market(t, "t") == mat(3, 3, {2, 1, 0, 1, 0, -1, 0, -1, 4}));
}

TEST_CASE("mtx: the 'double' field some writers use is real", "[mtx]") {
  CHECK(parse_matrix_market("%%MatrixMarket matrix array double general\n1 1\n2.5\n", "t") ==
        mat(1, 1, {2.5}));
}

// ==== Matrix Market: hostile

TEST_CASE("mtx: missing or bad banner", "[mtx][hostile]") {
  mtx_error("", 1, 1, "not a Matrix Market file");
  mtx_error("2 2\n1\n2\n3\n4\n", 1, 1, "the first line must be '%%MatrixMarket");
  mtx_error("%%MatrixMarket matrix array real\n1 1\n1\n", 1, 33, "incomplete banner");
  mtx_error("%%MatrixMarket matrix array real general extra\n", 1, 42, "unexpected 'extra'");
  mtx_error("%%MatrixMarketX matrix array real general\n", 1, 1, "expected '%%MatrixMarket'");
  mtx_error("%%MatrixMarket vector array real general\n", 1, 16, "the object 'vector' is not supported");
  mtx_error("%%MatrixMarket matrix dense real general\n", 1, 23, "unknown format 'dense'");
  mtx_error("%%MatrixMarket matrix array quaternion general\n", 1, 29, "unknown field 'quaternion'");
  mtx_error("%%MatrixMarket matrix array real upper\n", 1, 34, "unknown symmetry 'upper'");
  mtx_error(std::string("%%MatrixMarket\x00\x01\x02", 17), 1, 18, "incomplete banner");
}

TEST_CASE("mtx: pattern, complex and hermitian are refused clearly", "[mtx][hostile]") {
  mtx_error("%%MatrixMarket matrix coordinate pattern general\n2 2 1\n1 1\n", 1, 34,
            "'pattern' matrices are not supported: they have no values");
  mtx_error("%%MatrixMarket matrix coordinate complex general\n1 1 1\n1 1 1 0\n", 1, 34,
            "'complex' matrices are not supported");
  mtx_error("%%MatrixMarket matrix array real hermitian\n1 1\n1\n", 1, 34,
            "'hermitian' matrices are not supported");
}

TEST_CASE("mtx: bad size lines", "[mtx][hostile]") {
  const std::string b = "%%MatrixMarket matrix array real general\n";
  const std::string c = "%%MatrixMarket matrix coordinate real general\n";
  mtx_error(b, 2, 1, "missing the size line");
  mtx_error(b + "% only a comment\n", 3, 1, "missing the size line");
  mtx_error(b + "2\n", 2, 2, "incomplete size line");
  mtx_error(c + "2 2\n", 2, 4, "incomplete size line: expected 'rows columns entries'");
  mtx_error(b + "2 2 2\n", 2, 5, "unexpected '2' on the size line");
  mtx_error(b + "-3 3\n", 2, 1, "expected the number of rows (a non-negative integer), found '-3'");
  mtx_error(b + "3 x\n", 2, 3, "expected the number of columns");
  mtx_error(b + "3 2.5\n", 2, 3, "expected the number of columns");
  mtx_error(b + "0 3\n", 2, 1, "the matrix is empty (0x3)");
  mtx_error(b + "99999999999999999999999 1\n", 2, 1, "is too large");
  mtx_error("%%MatrixMarket matrix array real symmetric\n2 3\n1\n2\n3\n", 2, 1, "must be square");
}

TEST_CASE("mtx: declared sizes far larger than the file (no allocation)", "[mtx][hostile]") {
  mtx_error("%%MatrixMarket matrix array real general\n1000 1000\n1\n2\n3\n", 2, 1,
            "declares 1000000 entries, but only 6 bytes follow");
  mtx_error("%%MatrixMarket matrix coordinate real general\n3 3 1000000000\n1 1 1\n", 2, 1,
            "declares 1000000000 entries");
  mtx_error("%%MatrixMarket matrix coordinate real general\n100000000 100000000 1\n1 1 1\n", 2, 1,
            "more than the limit of 67108864 entries");
  mtx_error("%%MatrixMarket matrix coordinate real general\n4611686018427387904 4 1\n1 1 1\n", 2, 1,
            "too large");
}

TEST_CASE("mtx: a coordinate file declares at most ReadLimits::dense_per_byte entries per byte of it",
          "[mtx][hostile]") {
  // 64 bytes declaring 8192x8192 (512 MiB of zeros, within max_elements) with one entry: refused on the size
  // line.
  const std::string lie = "%%MatrixMarket matrix coordinate real general\n8192 8192 1\n1 1 1\n";
  REQUIRE(lie.size() == 64);
  mtx_error(
      lie, 2, 1,
      "the declared size 8192x8192 is more than a coordinate file of 64 bytes may declare: 1048576 entries "
      "(1024 per byte of the file, at least 1048576); the size line is wrong, or save the matrix in array "
      "form or as .npy");
  mtx_error("%%MatrixMarket matrix coordinate real symmetric\n4096 4096 1\n1 1 1\n", 2, 1,
            "the declared size 4096x4096 is more than a coordinate file of 66 bytes may declare");
  // 2^20 entries are allowed whatever the file's size: 1024x1024 with one entry reads, 1025x1024 does not.
  const Matrix<double> small =
      parse_matrix_market("%%MatrixMarket matrix coordinate real general\n1024 1024 1\n3 4 5\n", "t");
  CHECK(small.rows() == 1024);
  CHECK(small.cols() == 1024);
  CHECK(small(2, 3) == 5);
  CHECK(small.sum() == 5);
  mtx_error("%%MatrixMarket matrix coordinate real general\n1025 1024 1\n3 4 5\n", 2, 1,
            "the declared size 1025x1024 is more than a coordinate file of");
  // A diagonal's bytes grow with its size: 2000x2000 reads with the default, not with 1 entry per byte.
  std::string diag = "%%MatrixMarket matrix coordinate real general\n2000 2000 2000\n";
  for (int i = 1; i <= 2000; ++i)
    diag += std::to_string(i) + " " + std::to_string(i) + " " + std::to_string(i) + "\n";
  const Matrix<double> d = parse_matrix_market(diag, "t");
  CHECK(d.rows() == 2000);
  CHECK(d(1999, 1999) == 2000);
  CHECK(d(1, 0) == 0);
  CHECK(d.sum() == 2001000);
  ReadLimits strict;
  strict.dense_per_byte = 1;
  mtx_error(diag, 2, 1, "the declared size 2000x2000 is more than a coordinate file of", strict);
  // An array file holds every entry it declares: the bytes check above bounds it, this one does not apply.
  std::string column = "%%MatrixMarket matrix array real general\n2000 1\n";
  for (int i = 0; i < 2000; ++i) column += "1\n";
  CHECK(parse_matrix_market(column, "t", strict).rows() == 2000);
}

TEST_CASE("mtx: a value line as long as the file is read a token at a time", "[mtx][hostile]") {
  std::string text = "%%MatrixMarket matrix array real general\n2 2\n1 2 3 4";
  const std::string valid = text + "\n";
  const Matrix<double> m = parse_matrix_market(valid, "t");
  CHECK(m == mat(2, 2, {1, 3, 2, 4}));
  for (int i = 0; i < 100000; ++i) text += " 5";
  mtx_error(text, 3, 9, "unexpected '5': the size line declares only 4 entries");
}

TEST_CASE("mtx: out-of-range and malformed coordinate entries", "[mtx][hostile]") {
  const std::string c = "%%MatrixMarket matrix coordinate real general\n3 3 2\n1 1 1.0\n";
  mtx_error(c + "4 2 2.0\n", 4, 1, "row index 4 is out of range 1..3");
  mtx_error(c + "2 9 2.0\n", 4, 3, "column index 9 is out of range 1..3");
  mtx_error(c + "0 1 2.0\n", 4, 1, "row index 0 is out of range");
  mtx_error(c + "-1 1 2.0\n", 4, 1, "expected a row index");
  mtx_error(c + "1 1\n", 4, 4, "incomplete entry: expected 'row column value'");
  mtx_error(c + "1 1 2 3\n", 4, 7, "unexpected '3'");
  mtx_error(c + "1 1 2x\n", 4, 6, "unexpected 'x' after the number");
  mtx_error(c + "1 1 2.0\n3 3 3.0\n", 5, 1, "the size line declares only 2 entries");
  mtx_error("%%MatrixMarket matrix coordinate real symmetric\n3 3 1\n1 2 5.0\n", 3, 1, "above the diagonal");
  mtx_error("%%MatrixMarket matrix coordinate real skew-symmetric\n3 3 1\n2 2 5.0\n", 3, 1,
            "on the diagonal");
  mtx_error("%%MatrixMarket matrix coordinate real general\n1 1 2\n1 1 1e308\n1 1 1e308\n", 4, 5,
            "summing duplicate entries overflows");
}

TEST_CASE("mtx: truncated data and trailing data", "[mtx][hostile]") {
  mtx_error("%%MatrixMarket matrix array real general\n2 2\n1.25\n2.25\n3.25\n", 5, 5,
            "the file ends after 3 of the 4 entries");
  mtx_error("%%MatrixMarket matrix coordinate real general\n2 2 3\n1 1 1.25\n2 2 2.25\n", 4, 9,
            "the file ends after 2 of the 3 entries");
  mtx_error("%%MatrixMarket matrix array real general\n1 2\n1\n2\n3\n", 5, 1, "declares only 2 entries");
}

TEST_CASE("mtx: values: non-numbers, NaN, overflow, non-integers in an integer file", "[mtx][hostile]") {
  const std::string b = "%%MatrixMarket matrix array real general\n2 1\n1\n";
  mtx_error(b + "abc\n", 4, 1, "expected a number, found 'abc'");
  mtx_error(b + "nan\n", 4, 1, "'nan' is not allowed");
  mtx_error(b + "-inf\n", 4, 1, "'-inf' is not allowed");
  mtx_error(b + "1e999\n", 4, 1, "overflows a double");
  mtx_error("%%MatrixMarket matrix array integer general\n2 1\n1\n1.5\n", 4, 1, "expected an integer value");
  mtx_error(std::string("%%MatrixMarket matrix array real general\n1 1\n\x93\x00\x01\xff\n", 50), 3, 1,
            "binary data");
}
