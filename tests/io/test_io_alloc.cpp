// The readers allocate what the input's bytes justify, not what a header claims: a few bytes that
// declare a huge matrix are refused before anything of that size is allocated, and a long line is read a
// token at a time. This executable replaces malloc to see the largest single request (count_allocations.hpp);
// where allocations cannot be counted (sanitizers), only the errors are checked.
#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "count_allocations.hpp"
#include "tapegrad/io.hpp"

using namespace tapegrad;
using namespace tapegrad::io;
using Catch::Matchers::Contains;

namespace {

/// What a reader did with some input: the error it threw (if any) and its largest single allocation.
struct Outcome {
  std::optional<ParseError> error;
  std::size_t largest = 0;  ///< bytes; 0 when allocations are not counted
};

/// Counts while it lives.
struct Counting {
  Counting() {
    g_largest = 0;
    g_counting = true;
  }
  ~Counting() { g_counting = false; }
  Counting(const Counting&) = delete;
  Counting& operator=(const Counting&) = delete;
};

template <class F>
Outcome run(F&& f) {
  Outcome out;
  {
    const Counting counting;
    try {
      f();
    } catch (const ParseError& e) {
      out.error = e;
    }
  }
  out.largest = g_largest;
  return out;
}

// Far below the matrices the headers below declare (512 MiB, 128 MiB), above what parsing a few lines needs.
constexpr std::size_t kSmall = std::size_t{64} << 10;

}  // namespace

TEST_CASE("alloc: a 64-byte coordinate file declaring 8192x8192 is refused before the matrix is allocated",
          "[mtx][alloc]") {
  const std::string lie = "%%MatrixMarket matrix coordinate real general\n8192 8192 1\n1 1 1\n";
  REQUIRE(lie.size() == 64);
  const Outcome o = run([&] { parse_matrix_market(lie, "t"); });
  REQUIRE(o.error.has_value());
  CHECK(o.error->line() == 2);
  CHECK_THAT(o.error->message(),
             Contains("the declared size 8192x8192 is more than a coordinate file of 64 bytes"));
  if (TAPEGRAD_COUNT_ALLOCATIONS) CHECK(o.largest < kSmall);
}

TEST_CASE(
    "alloc: a 1x1 array file followed by a 2 MB line stops at its second value, without listing the line",
    "[mtx][alloc]") {
  // One token per two bytes: a list of the line's tokens would take 16 bytes each (and twice that while
  // growing).
  std::string text = "%%MatrixMarket matrix array real general\n1 1\n1";
  for (int i = 0; i < 1000000; ++i) text += " 2";
  text += "\n";
  const Outcome o = run([&] { parse_matrix_market(text, "t"); });
  REQUIRE(o.error.has_value());
  CHECK(o.error->line() == 3);
  CHECK(o.error->column() == 3);
  CHECK_THAT(o.error->message(), Contains("unexpected '2': the size line declares only 1 entries"));
  if (TAPEGRAD_COUNT_ALLOCATIONS) CHECK(o.largest < kSmall);
}

TEST_CASE("alloc: a valid array file on one line reads with no allocation beyond its matrix",
          "[mtx][alloc]") {
  // 1000x1000 values on one line (2 MB): the matrix itself is the largest allocation (8 MB), nothing larger.
  std::string text = "%%MatrixMarket matrix array real general\n1000 1000\n";
  for (int i = 0; i < 1000000; ++i) text += (i % 7 == 0) ? "3 " : "1 ";
  text += "\n";
  Matrix<double> m;
  const Outcome o = run([&] { m = parse_matrix_market(text, "t"); });
  REQUIRE_FALSE(o.error.has_value());
  REQUIRE(m.rows() == 1000);
  CHECK(m(0, 0) == 3);
  CHECK(m(1, 0) == 1);
  CHECK(m(7, 0) == 3);
  if (TAPEGRAD_COUNT_ALLOCATIONS) CHECK(o.largest <= std::size_t{1000} * 1000 * sizeof(double) + kSmall);
}

TEST_CASE("alloc: a .npy header declaring 4096x4096 over 16 bytes of data is refused before allocating",
          "[npy][alloc]") {
  std::string dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (4096, 4096), }";
  while ((10 + dict.size() + 1) % 64 != 0) dict += ' ';
  dict += '\n';
  std::string bytes = "\x93NUMPY";
  bytes += '\x01';
  bytes += '\x00';
  bytes += static_cast<char>(dict.size() & 0xff);
  bytes += static_cast<char>(dict.size() >> 8);
  bytes += dict + std::string(16, '\0');
  const Outcome o = run([&] { parse_npy(bytes, "t"); });
  REQUIRE(o.error.has_value());
  CHECK_THAT(o.error->message(), Contains("the header declares shape 4096x4096 float64 (134217728 bytes) but "
                                          "only 16 bytes of data follow"));
  if (TAPEGRAD_COUNT_ALLOCATIONS) CHECK(o.largest < kSmall);
}
