// Matrix files by path: read_matrix's dispatch by extension and content, file-level errors, the committed
// tests/data/bad and tests/data/odd files; and writing (format_csv, write_matrix_csv, write_file_atomic).
#include <catch2/catch.hpp>
#include <filesystem>
#include <limits>
#include <random>
#include <string>

#include "matrix_io_check.hpp"
#include "tapegrad/io.hpp"

using namespace tapegrad;
using namespace tapegrad::io;
using namespace tapegrad::test;
using Catch::Matchers::Contains;

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
