// The matrix file readers and writers: every format, valid oddities, and hostile input, each error checked
// for its file, line, column and message.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "tapegrad/io.hpp"

using namespace tapegrad;
using namespace tapegrad::io;
using Catch::Matchers::Contains;

namespace {

namespace fs = std::filesystem;

template <class F>
ParseError parse_error(F&& f) {
  try {
    f();
  } catch (const ParseError& e) {
    return e;
  }
  FAIL("no ParseError was thrown");
  throw std::logic_error("unreachable");
}

/// The error f throws has this position and its message contains `what`; what() is "FILE:LINE:COL: message".
template <class F>
void check_error(F&& f, long line, long column, const std::string& what, const std::string& file = "t") {
  const ParseError e = parse_error(f);
  INFO(e.what());
  CHECK(e.file() == file);
  CHECK(e.line() == line);
  CHECK(e.column() == column);
  CHECK_THAT(e.message(), Contains(what));
  if (line > 0)
    CHECK(std::string(e.what()) ==
          file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + e.message());
}

void csv_error(const std::string& text, long line, long column, const std::string& what,
               const ReadLimits& limits = {}) {
  check_error([&] { parse_csv(text, "t", limits); }, line, column, what);
}
void mtx_error(const std::string& text, long line, long column, const std::string& what,
               const ReadLimits& limits = {}) {
  check_error([&] { parse_matrix_market(text, "t", limits); }, line, column, what);
}
void npy_error(const std::string& bytes, long column, const std::string& what,
               const ReadLimits& limits = {}) {
  check_error([&] { parse_npy(bytes, "t", limits); }, 1, column, what);
}

Matrix<double> mat(Index rows, Index cols, std::initializer_list<double> row_major) {
  Matrix<double> m(rows, cols);
  auto it = row_major.begin();
  for (Index i = 0; i < rows; ++i)
    for (Index j = 0; j < cols; ++j) m(i, j) = *it++;
  return m;
}

// ---- .npy construction

std::string npy(const std::string& dict, const std::string& data, int major = 1) {
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

std::string header(const std::string& descr, const std::string& shape, bool fortran = false) {
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
long data_column(const std::string& dict, int major = 1) {
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

}  // namespace

// ==== CSV: valid

TEST_CASE("csv: comma-separated rows", "[csv]") {
  const Matrix<double> m = parse_csv("1,2,3\n4,5,6\n", "t");
  CHECK(m == mat(2, 3, {1, 2, 3, 4, 5, 6}));
}

TEST_CASE("csv: whitespace-separated rows, tabs and repeated blanks", "[csv]") {
  CHECK(parse_csv("  1\t2  \n3    4\n", "t") == mat(2, 2, {1, 2, 3, 4}));
}

TEST_CASE("csv: BOM, CRLF, comments, blank lines, spaces around commas, no final newline", "[csv]") {
  const std::string text =
      "\xEF\xBB\xBF# header comment\r\n\r\n1.5, 2\r\n# between\r\n  3 ,4 # trailing\r\n5,6";
  CHECK(parse_csv(text, "t") == mat(3, 2, {1.5, 2, 3, 4, 5, 6}));
}

TEST_CASE("csv: lone CR line ends", "[csv]") {
  CHECK(parse_csv("1,2\r3,4\r", "t") == mat(2, 2, {1, 2, 3, 4}));
}

TEST_CASE("csv: number forms", "[csv]") {
  const Matrix<double> m = parse_csv("+1,.5,1.,-0,1e-3,2E+2,-7.25e1,1e-999\n", "t");
  CHECK(m == mat(1, 8, {1, 0.5, 1, 0, 1e-3, 200, -72.5, 0}));
  CHECK(std::signbit(m(0, 3)));
}

TEST_CASE("csv: one value, one row, one column", "[csv]") {
  CHECK(parse_csv("42", "t") == mat(1, 1, {42}));
  CHECK(parse_csv("1 2 3 4", "t") == mat(1, 4, {1, 2, 3, 4}));
  CHECK(parse_csv("1\n2\n3\n", "t") == mat(3, 1, {1, 2, 3}));
}

TEST_CASE("csv: a very long valid line", "[csv]") {
  std::string text;
  for (int i = 0; i < 100000; ++i) text += std::to_string(i % 10) + ",";
  text += "1\n";
  const Matrix<double> m = parse_csv(text, "t");
  CHECK(m.rows() == 1);
  CHECK(m.cols() == 100001);
}

TEST_CASE("csv: the seed data reads", "[csv]") {
  const Matrix<double> m = read_matrix(TAPEGRAD_TEST_DATA_DIR "/seed/svd/M1/M.csv");
  CHECK(m.rows() == 5);
  CHECK(m.cols() == 4);
  CHECK(m(0, 0) == 0.7196354866027832);
}

// ==== CSV: hostile

TEST_CASE("csv: ragged rows", "[csv][hostile]") {
  csv_error("1,2,3\n4,5,6\n7,8\n", 3, 4, "this row has 2 values; line 1 has 3");
  csv_error("1 2\n3 4 5\n", 2, 5, "more than 2 values");
  csv_error("# c\n\n1,2\n3,4,5\n", 4, 5, "line 3 has 2");
}

TEST_CASE("csv: non-numbers", "[csv][hostile]") {
  csv_error("1,2\n3,abc\n", 2, 3, "expected a number, found 'abc'");
  csv_error("x,y\n1,2\n", 1, 1, "a header row? comment it out with '#'");
  csv_error("1,2\n\"3\",4\n", 2, 1, "expected a number, found '\"3\"'");
  csv_error("1,--2\n", 1, 3, "expected a number");
  csv_error("1,+nan\n", 1, 3, "expected a number");
  csv_error("0x10\n", 1, 2, "unexpected 'x10' after the number '0'");
}

TEST_CASE("csv: trailing garbage after a number", "[csv][hostile]") {
  csv_error("1,2\n3,4x\n", 2, 4, "unexpected 'x' after the number '4'");
  csv_error("1.5.5\n", 1, 4, "unexpected '.5'");
  csv_error("1e\n", 1, 2, "unexpected 'e'");
  csv_error("1;2\n", 1, 2, "unexpected ';2'");
}

TEST_CASE("csv: empty fields", "[csv][hostile]") {
  csv_error("1,,2\n", 1, 3, "empty field between two commas");
  csv_error("1,2,\n", 1, 4, "empty field after ','");
  csv_error(",1,2\n", 1, 1, "empty field before ','");
  csv_error("1,2, # c\n", 1, 4, "empty field after ','");
}

TEST_CASE("csv: mixed separators", "[csv][hostile]") {
  csv_error("1 2,3\n", 1, 4, "mixes commas and spaces");
  csv_error("1,2\n3 4\n", 2, 2, "separates values with spaces, but line 1 uses commas");
}

TEST_CASE("csv: empty and comment-only files", "[csv][hostile]") {
  csv_error("", 1, 1, "the file is empty");
  csv_error("\xEF\xBB\xBF", 1, 1, "the file is empty");
  csv_error("# nothing\n\n# here\n", 3, 1, "only blank lines and comments");
  csv_error("   \n\t\n", 2, 1, "only blank lines and comments");
}

TEST_CASE("csv: NaN and infinite values are refused", "[csv][hostile]") {
  csv_error("1,nan\n", 1, 3, "'nan' is not allowed: NaN and infinite values make an SVD meaningless");
  csv_error("NaN,1\n", 1, 1, "NaN and infinite values");
  csv_error("1\ninf\n", 2, 1, "'inf' is not allowed");
  csv_error("1 -Infinity\n", 1, 3, "'-Infinity' is not allowed");
  csv_error("nan(0x1)\n", 1, 1, "is not allowed");
}

TEST_CASE("csv: overflowing numbers are refused", "[csv][hostile]") {
  csv_error("1,2\n3,1e999\n", 2, 3, "the number '1e999' overflows a double");
  csv_error("-1e400", 1, 1, "overflows");
  csv_error("1" + std::string(400, '0'), 1, 1, "overflows");
}

TEST_CASE("csv: binary junk", "[csv][hostile]") {
  std::mt19937 rng(6);
  std::string junk;
  for (int i = 0; i < 4096; ++i) junk += static_cast<char>(rng() & 0xff);
  junk[0] = '\x93';
  const ParseError e = parse_error([&] { parse_csv(junk, "t"); });
  CHECK(e.line() == 1);
  CHECK(e.column() == 1);
  CHECK_THAT(e.message(), Contains("\\x93"));
  CHECK(std::string(e.what()).size() < 400);  // a bounded, escaped snippet
  csv_error(std::string("1,2\n3,\0", 7), 2, 3, "binary data");
  csv_error("1,2\n\x01\x02\x03", 2, 1, "binary data");
}

TEST_CASE("csv: UTF-16 is recognised", "[csv][hostile]") {
  csv_error(std::string("\xFF\xFE"
                        "1\0,\0"
                        "2\0",
                        8),
            1, 1, "UTF-16");
}

TEST_CASE("csv: very long lines of junk give a short message", "[csv][hostile]") {
  const std::string text = "1,2\n3," + std::string(5'000'000, 'a') + "\n";
  const ParseError e = parse_error([&] { parse_csv(text, "t"); });
  CHECK(e.line() == 2);
  CHECK(e.column() == 3);
  CHECK(e.message().size() < 200);
  CHECK_THAT(e.message(), Contains("..."));
  std::string many;
  for (int i = 0; i < 50000; ++i) many += "1,";
  csv_error(many + std::string(100000, ' ') + "x", 1, 200001, "expected a number");
}

TEST_CASE("csv: positions count from after the BOM, across CRLF", "[csv][hostile]") {
  csv_error("\xEF\xBB\xBFx", 1, 1, "expected a number");
  csv_error(
      "\xEF\xBB\xBF"
      "1,2\r\n3,x\r\n",
      2, 3, "expected a number, found 'x'");
  csv_error("1,2\r3,x\r", 2, 3, "expected a number");
  csv_error("1\t\tq", 1, 4, "expected a number");
}

TEST_CASE("csv: limits", "[csv][hostile]") {
  ReadLimits small;
  small.max_elements = 4;
  csv_error("1,2,3\n4,5,6\n", 2, 3, "more than 4 entries", small);
  ReadLimits tiny;
  tiny.max_bytes = 8;
  check_error([&] { parse_csv("1,2,3,4,5\n", "t", tiny); }, 0, 0, "more than the limit of 8");
}

TEST_CASE("csv: stdin-like streams", "[csv]") {
  std::istringstream in("1 2\n3 4\n");
  CHECK(read_csv(in, "<stdin>") == mat(2, 2, {1, 2, 3, 4}));
  std::istringstream bad(std::string("1 2\n3 \0 4\n", 10));
  check_error([&] { read_csv(bad, "<stdin>"); }, 2, 3, "binary data (a NUL byte)", "<stdin>");
  ReadLimits tiny;
  tiny.max_bytes = 4;
  std::istringstream big("1 2 3 4 5 6\n");
  check_error([&] { read_csv(big, "<stdin>", tiny); }, 0, 0, "larger than the limit", "<stdin>");
}

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

// ==== Files and dispatching

TEST_CASE("read_matrix: dispatch by extension and by content", "[files]") {
  TempDir dir;
  CHECK(read_matrix(dir.file("a.csv", "1,2\n3,4\n")) == mat(2, 2, {1, 2, 3, 4}));
  CHECK(read_matrix(dir.file("a.TSV", "1\t2\n")) == mat(1, 2, {1, 2}));
  CHECK(read_matrix(dir.file("a.mtx", "%%MatrixMarket matrix array real general\n1 1\n5\n")) ==
        mat(1, 1, {5}));
  const std::string n = npy(header("<f8", "(1,)"), bytes_of<double>({9}));
  CHECK(read_matrix(dir.file("a.npy", n)) == mat(1, 1, {9}));
  CHECK(read_matrix(dir.file("noext", n)) == mat(1, 1, {9}));
  CHECK(read_matrix(dir.file("a.data", "%%MatrixMarket matrix array real general\n1 1\n6\n")) ==
        mat(1, 1, {6}));
  CHECK(read_matrix(dir.file("b.data", "7 8\n")) == mat(1, 2, {7, 8}));
  // an .npy file named .csv is read as CSV, and refused as binary
  const std::string p = dir.file("fake.csv", n);
  check_error([&] { read_matrix(p); }, 1, 1, "binary data", p);
  CHECK(detect_format("-") == MatrixFormat::Csv);
  CHECK(detect_format("x.MTX") == MatrixFormat::MatrixMarket);
}

TEST_CASE("read_matrix: file-level errors have line 0", "[files][hostile]") {
  TempDir dir;
  const std::string missing = (dir.path / "missing.csv").string();
  check_error([&] { read_matrix(missing); }, 0, 0, "cannot open: No such file or directory", missing);
  CHECK(std::string(parse_error([&] { read_matrix(missing); }).what()) ==
        missing + ": cannot open: No such file or directory");
  const std::string d = dir.path.string();
  check_error([&] { read_matrix(d); }, 0, 0, "it is a directory", d);
  const std::string npz = dir.file("a.npz", "PK");
  check_error([&] { read_matrix(npz); }, 0, 0, ".npz archives are not supported", npz);
  const std::string gz = dir.file("a.csv.gz", "\x1f\x8b");
  check_error([&] { read_matrix(gz); }, 0, 0, "compressed files are not supported", gz);
  ReadLimits tiny;
  tiny.max_bytes = 3;
  const std::string big = dir.file("big.csv", "1,2,3\n");
  check_error([&] { read_matrix(big, tiny); }, 0, 0, "the file is 6 bytes, more than the limit of 3", big);
}

TEST_CASE("read_matrix: devices and pipes stop early on binary data", "[files][hostile]") {
  if (!fs::exists("/dev/zero")) return;
  check_error([] { read_matrix("/dev/zero"); }, 1, 1, "binary data (a NUL byte)", "/dev/zero");
}

TEST_CASE("read_matrix: the tests/data/bad files all fail with a position", "[files][hostile]") {
  const fs::path bad = fs::path(TAPEGRAD_TEST_DATA_DIR) / "bad";
  int count = 0;
  for (const auto& entry : fs::directory_iterator(bad)) {
    if (entry.path().extension() == ".py") continue;
    INFO(entry.path());
    const ParseError e = parse_error([&] { read_matrix(entry.path().string()); });
    CHECK(e.file() == entry.path().string());
    CHECK(e.line() >= 1);
    CHECK(e.column() >= 1);
    ++count;
  }
  CHECK(count >= 30);
}

TEST_CASE("read_matrix: the tests/data/odd files all read", "[files]") {
  const fs::path odd = fs::path(TAPEGRAD_TEST_DATA_DIR) / "odd";
  const Matrix<double> expected = mat(3, 2, {1, 2, 3, 4, 5, 6});
  CHECK(read_matrix((odd / "whitespace.csv").string()) == expected);
  CHECK(read_matrix((odd / "fortran.npy").string()) == expected);
  CHECK(read_matrix((odd / "float32_v2.npy").string()) == expected);
  CHECK(read_matrix((odd / "big_endian.npy").string()) == expected);
  CHECK(read_matrix((odd / "array_integer.mtx").string()) == mat(3, 2, {1, 4, 2, 5, 3, 7}));
  CHECK(read_matrix((odd / "bom_crlf_comments.csv").string()) == mat(3, 2, {1.5, 2, 3, 4, 5, 6}));
  CHECK(read_matrix((odd / "symmetric.mtx").string()) == mat(3, 3, {2, 1, 0, 1, 0, -1, 0, -1, 4}));
}

// ==== Shapes and blocks of rows (each process of `mpirun tapegrad-svd` reads only its rows)

namespace {
/// read_matrix_shape and every read_matrix_rows(begin, count) of the file agree with read_matrix.
void check_every_block(const std::string& path) {
  INFO(path);
  const Matrix<double> full = read_matrix(path);
  const MatrixShape shape = read_matrix_shape(path);
  CHECK(shape.rows == full.rows());
  CHECK(shape.cols == full.cols());
  for (Index begin = 0; begin <= full.rows(); ++begin) {
    for (Index count = 0; begin + count <= full.rows(); ++count) {
      INFO("rows " << begin << " + " << count);
      const Matrix<double> block = read_matrix_rows(path, begin, count);
      REQUIRE(block.rows() == count);
      REQUIRE(block.cols() == full.cols());
      CHECK(block == full.middleRows(begin, count));
    }
  }
  const ParseError e = parse_error([&] { read_matrix_rows(path, full.rows() - 1, 2); });
  CHECK(e.line() == 0);
  CHECK_THAT(e.message(), Contains("asked for, but the") && Contains(std::to_string(full.rows()) + " rows"));
}
}  // namespace

TEST_CASE("read_matrix_rows: every block of every format equals the same rows of read_matrix",
          "[files][rows]") {
  const fs::path odd = fs::path(TAPEGRAD_TEST_DATA_DIR) / "odd";
  for (const char* f : {"whitespace.csv", "bom_crlf_comments.csv", "fortran.npy", "float32_v2.npy",
                        "big_endian.npy", "array_integer.mtx", "symmetric.mtx"})
    check_every_block((odd / f).string());
  TempDir dir;
  // C order over more than one 1 MiB piece, and Fortran order, from a random 300x500 matrix.
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<double> c_order(300 * 500), f_order(300 * 500);
  for (auto& x : c_order) x = u(rng);
  for (int i = 0; i < 300; ++i)
    for (int j = 0; j < 500; ++j)
      f_order[static_cast<std::size_t>(j * 300 + i)] = c_order[static_cast<std::size_t>(i * 500 + j)];
  auto raw = [](const std::vector<double>& v) {
    return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(double));
  };
  for (bool fortran : {false, true}) {
    const std::string p = dir.file(fortran ? "f.npy" : "c.npy", npy(header("<f8", "(300, 500)", fortran),
                                                                    raw(fortran ? f_order : c_order)));
    const Matrix<double> full = read_matrix(p);
    CHECK(full(7, 3) == c_order[7 * 500 + 3]);
    for (auto [b, n] : {std::pair<Index, Index>{0, 300}, {0, 1}, {299, 1}, {17, 150}, {150, 150}, {40, 0}})
      CHECK(read_matrix_rows(p, b, n) == full.middleRows(b, n));
  }
  // Matrix Market coordinate files: general with duplicates, symmetric and skew-symmetric.
  check_every_block(
      dir.file("g.mtx",
               "%%MatrixMarket matrix coordinate real general\n3 4 5\n1 1 1\n3 4 2\n2 2 -1\n3 4 "
               "0.5\n1 4 7\n"));
  check_every_block(dir.file("s.mtx",
                             "%%MatrixMarket matrix coordinate real symmetric\n3 3 4\n1 1 1\n3 1 2\n2 2 "
                             "-1\n3 2 5\n"));
  check_every_block(
      dir.file("k.mtx", "%%MatrixMarket matrix coordinate real skew-symmetric\n3 3 2\n2 1 2\n3 2 5\n"));
  check_every_block(dir.file("k2.mtx", "%%MatrixMarket matrix array real skew-symmetric\n3 3\n2\n3\n5\n"));
}

TEST_CASE("read_matrix_rows: a coordinate file's block is bounded by the file's bytes",
          "[files][rows][hostile]") {
  TempDir dir;
  const std::string p =
      dir.file("lie.mtx", "%%MatrixMarket matrix coordinate real general\n8192 8192 1\n1 1 7\n");
  const MatrixShape shape = read_matrix_shape(p);  // the header alone: nothing is allocated for it
  CHECK(shape.rows == 8192);
  CHECK(shape.cols == 8192);
  const Matrix<double> top = read_matrix_rows(p, 0, 100);  // 819200 entries: under 2^20
  CHECK(top.rows() == 100);
  CHECK(top(0, 0) == 7);
  CHECK(top.sum() == 7);
  check_error([&] { read_matrix_rows(p, 0, 200); }, 2, 1,
              "the block of rows 1..200 (200x8192) is more than a coordinate file of 64 bytes may declare",
              p);
}

TEST_CASE("read_matrix_rows: errors in the rows read have their usual position", "[files][rows][hostile]") {
  TempDir dir;
  // A CSV file with a bad value on line 5 (data row 4, after a comment and a blank line).
  const std::string csv = dir.file("bad.csv", "# M\n1,2\n\n3,4\n5,x\n7,8\n");
  check_error([&] { read_matrix(csv); }, 5, 3, "expected a number, found 'x'", csv);
  check_error([&] { read_matrix_rows(csv, 2, 1); }, 5, 3, "expected a number, found 'x'", csv);
  CHECK(read_matrix_rows(csv, 0, 2) == mat(2, 2, {1, 2, 3, 4}));  // the bad row is another block's
  CHECK(read_matrix_rows(csv, 3, 1) == mat(1, 2, {7, 8}));
  CHECK(read_matrix_shape(csv).rows == 4);
  // Matrix Market: a bad value is found by the block that holds its row (positions are checked by all).
  const std::string mm =
      dir.file("bad.mtx", "%%MatrixMarket matrix array real general\n3 2\n1\n2\nx\n4\n5\n6\n");
  check_error([&] { read_matrix(mm); }, 5, 1, "expected a number", mm);
  check_error([&] { read_matrix_rows(mm, 2, 1); }, 5, 1, "expected a number", mm);
  CHECK(read_matrix_rows(mm, 0, 2) == mat(2, 2, {1, 4, 2, 5}));
  const std::string mc =
      dir.file("bad_c.mtx", "%%MatrixMarket matrix coordinate real general\n3 2 2\n1 1 x\n4 1 1\n");
  check_error([&] { read_matrix_rows(mc, 1, 1); }, 4, 1, "row index 4 is out of range 1..3", mc);
  // The first data row fixes the column count for every block.
  const std::string ragged = dir.file("ragged.csv", "1,2\n3,4\n5,6,7\n");
  check_error([&] { read_matrix_rows(ragged, 2, 1); }, 3, 5, "this row has more than 2 values", ragged);
  // A NaN in a .npy block: the same byte offset as a full read reports.
  const std::string d = header("<f8", "(3, 2)");
  const std::string nan = dir.file("nan.npy", npy(d, bytes_of<double>({1, 2, 3, std::nan(""), 5, 6})));
  check_error([&] { read_matrix_rows(nan, 1, 2); }, 1, data_column(d) + 3 * 8, "row 2, column 2 is NaN", nan);
  CHECK(read_matrix_rows(nan, 2, 1) == mat(1, 2, {5, 6}));
  // Truncated .npy data is seen from the header, whatever the block.
  const std::string cut = dir.file("cut.npy", npy(d, bytes_of<double>({1, 2, 3})));
  check_error([&] { read_matrix_rows(cut, 0, 1); }, 1, data_column(d) + 24, "the file is truncated", cut);
  // stdin and negative ranges.
  CHECK_THAT(parse_error([] { read_matrix_rows("-", 0, 1); }).message(), Contains("not from stdin"));
  CHECK_THAT(parse_error([] { read_matrix_shape("-"); }).message(), Contains("not from stdin"));
  CHECK_THROWS_AS(read_matrix_rows(csv, -1, 1), std::invalid_argument);
  CHECK_THROWS_AS(read_matrix_rows(csv, 1, std::numeric_limits<Index>::max()), std::invalid_argument);
  CHECK_THAT(parse_error([&] { read_matrix_rows(csv, 6, 0); }).message(),
             Contains("an empty block after row 6 asked for, but the file has 4 rows"));
  CHECK(read_matrix_rows(csv, 4, 0).rows() == 0);
  // Pipes and devices are refused (a block is read from a file that can be read more than once).
  const std::string fifo = (dir.path / "pipe.csv").string();
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK_THAT(parse_error([&] { read_matrix_rows(fifo, 0, 1); }).message(), Contains("not from a pipe"));
  CHECK_THAT(parse_error([&] { read_matrix_shape(fifo); }).message(), Contains("not from a pipe"));
  CHECK_THAT(parse_error([&] { read_matrix_rows((dir.path / "none.npy").string(), 0, 1); }).message(),
             Contains("cannot open"));
  // A symmetric entry whose mirror lands in the block is checked there too: duplicates that overflow.
  const std::string sym = dir.file("sym.mtx",
                                   "%%MatrixMarket matrix coordinate real symmetric\n2 2 3\n2 2 2\n2 1 "
                                   "1e308\n2 1 1e308\n");
  for (Index b : {0, 1}) {
    INFO("block at row " << b);
    CHECK_THAT(parse_error([&] { read_matrix_rows(sym, b, 1); }).message(), Contains("overflows a double"));
  }
  // A block too large for ReadLimits::max_elements, where the whole file would be too.
  ReadLimits tiny;
  tiny.max_elements = 3;
  CHECK_THAT(parse_error([&] { read_matrix_rows(nan, 0, 2, tiny); }).message(),
             Contains("the block of rows 1..2 (2x2) is more than the limit of 3"));
  CHECK(read_matrix_rows(nan, 2, 1, tiny) == mat(1, 2, {5, 6}));
}

// ==== Writing

TEST_CASE("format_csv: shortest round-trip text", "[write]") {
  CHECK(format_csv(mat(2, 2, {0.1, -2, 1e-7, 1e300})) == "0.1,-2\n1e-07,1e+300\n");
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> u(-1, 1);
  Matrix<double> m(17, 9);
  for (Index i = 0; i < m.size(); ++i)
    m.data()[i] = u(rng) * std::pow(10.0, static_cast<int>(rng() % 600) - 300);
  m(0, 0) = std::numeric_limits<double>::denorm_min();
  m(1, 0) = std::numeric_limits<double>::max();
  m(2, 0) = -0.0;
  const Matrix<double> back = parse_csv(format_csv(m), "t");
  REQUIRE(back.rows() == m.rows());
  REQUIRE(back.cols() == m.cols());
  CHECK(std::memcmp(back.data(), m.data(), sizeof(double) * static_cast<std::size_t>(m.size())) == 0);
}

TEST_CASE("write_matrix_csv: atomic, no temporary file left, readable back", "[write]") {
  TempDir dir;
  const std::string p = (dir.path / "U.csv").string();
  const Matrix<double> m = mat(2, 2, {1.0 / 3, 2, 3, 4});
  write_matrix_csv(p, m);
  write_matrix_csv(p, m);  // replaces
  CHECK(read_matrix(p) == m);
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir.path)) {
    (void)e;
    ++files;
  }
  CHECK(files == 1);
  CHECK((fs::status(p).permissions() & fs::perms::owner_read) != fs::perms::none);
}

TEST_CASE("write_file_atomic: errors name the file", "[write]") {
  TempDir dir;
  const std::string p = (dir.path / "no" / "such" / "dir" / "x.csv").string();
  try {
    write_file_atomic(p, "x");
    FAIL("no IoError");
  } catch (const IoError& e) {
    CHECK_THAT(std::string(e.what()), Contains(p));
    CHECK_THAT(std::string(e.what()), Contains("No such file or directory"));
  }
}
