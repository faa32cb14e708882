// Shapes and blocks of rows (read_matrix_shape, read_matrix_rows): each process of `mpirun tapegrad-svd`
// reads only its rows; every block of every format equals the same rows of read_matrix, bounded by the
// file's bytes, with errors at their usual position.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "matrix_io_check.hpp"
#include "tapegrad/io.hpp"

using namespace tapegrad;
using namespace tapegrad::io;
using namespace tapegrad::test;
using Catch::Matchers::Contains;

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
