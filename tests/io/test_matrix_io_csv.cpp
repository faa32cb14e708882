// The CSV reader (parse_csv, read_csv): valid files with their oddities (BOM, CRLF, comments, whitespace
// separators, number forms), and hostile input, each error checked for its line, column and message.
#include <catch2/catch.hpp>
#include <random>
#include <sstream>
#include <string>

#include "matrix_io_check.hpp"
#include "tapegrad/io.hpp"

using namespace tapegrad;
using namespace tapegrad::io;
using namespace tapegrad::test;
using Catch::Matchers::Contains;

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
