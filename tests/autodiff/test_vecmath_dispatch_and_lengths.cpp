// detail::vec's dispatch and lengths: the best supported instruction set is chosen (the others reachable,
// unsupported ones refused), threads racing on the first call agree, every length 0..67 (the vector tails)
// gives position-independent results, in place too, and pow's gradient over several of its chunks.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include "tapegrad/autodiff.hpp"
#include "vecmath.hpp"
#include "vecmath_check.hpp"
#include "vecmath_inputs.hpp"

using tapegrad::Index;
using namespace tapegrad::test;

namespace {

/// Every length 0..67: an element's result does not depend on n or its position (the tails), nothing past
/// n is written, and x == y gives the same bits.
template <class T, class Run>
void check_lengths(Run run, const std::vector<T>& pool) {
  constexpr int kGuard = 9;
  const T sentinel = T(12345);
  for (Index n = 0; n <= 67; ++n) {
    CAPTURE(n);
    // The n inputs start at an offset that moves with n, so that they are also misaligned.
    std::vector<T> x(pool.begin() + n, pool.begin() + 2 * n);
    std::vector<T> y(static_cast<std::size_t>(n + kGuard), sentinel);
    run(n == 0 ? nullptr : x.data(), n == 0 ? nullptr : y.data(), n);
    for (Index i = 0; i < n; ++i) {
      T alone;
      run(&x[i], &alone, 1);
      if (!same_bits(y[i], alone)) FAIL("element " << i << " of " << n << ": " << y[i] << " alone " << alone);
    }
    for (Index i = n; i < n + kGuard; ++i) REQUIRE(same_bits(y[i], sentinel));
    std::vector<T> in_place = x;
    run(in_place.data(), in_place.data(), n);
    for (Index i = 0; i < n; ++i)
      if (!same_bits(in_place[i], y[i])) FAIL("in place, element " << i << " of " << n);
  }
}

template <class T>
std::vector<T> length_pool(std::vector<T> (*inputs)()) {
  // A mix of random values and specials from the function's own inputs, shuffled.
  std::vector<T> all = inputs();
  std::mt19937_64 rng(99);
  std::shuffle(all.begin(), all.end(), rng);
  all.resize(200);
  return all;
}

template <class T>
void check_all_lengths() {
  for (Isa isa : supported_isas()) {
    const vec::Kernels<T>& K = vec::kernels<T>(isa);
    CAPTURE(vec::isa_name(isa));
    for (const Fn<T>& f : functions<T>()) {
      CAPTURE(f.name);
      check_lengths(K.*f.run, length_pool(f.inputs));
    }
    const std::vector<T> pool = length_pool(pow_inputs<T>);
    check_lengths([&K](const T* x, T* y, Index n) { K.pow(x, T(-1.5), y, n); }, pool);
    check_lengths([&K](const T* x, T* y, Index n) { K.pow(x, T(3), y, n); }, pool);
  }
}

}  // namespace

TEST_CASE("vec: the best supported instruction set is chosen; the others are reachable, unsupported ones not",
          "[vec]") {
  const auto isas = supported_isas();
  REQUIRE(isas.front() == Isa::scalar);
  CHECK(vec::active_isa() == isas.back());
  // The functions run the active set's kernels, bit for bit.
  std::vector<double> x(301), a(301), b(301);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = double(i) / 30.0 - 5.0;
  vec::tanh(x.data(), a.data(), Index(x.size()));
  vec::kernels<double>(vec::active_isa()).tanh(x.data(), b.data(), Index(x.size()));
  for (std::size_t i = 0; i < x.size(); ++i) REQUIRE(same_bits(a[i], b[i]));
  for (Isa isa : {Isa::scalar, Isa::sse2, Isa::avx2}) {
    if (vec::isa_supported(isa)) {
      CHECK(vec::kernels<float>(isa).exp != nullptr);
    } else {
      CHECK_THROWS_AS(vec::kernels<float>(isa), std::invalid_argument);
      CHECK_THROWS_AS(vec::kernels<double>(isa), std::invalid_argument);
    }
  }
#if defined(TAPEGRAD_HAVE_SLEEF) && defined(__x86_64__)
  CHECK(vec::isa_supported(Isa::sse2));
#endif
  std::printf("vec: instruction sets %s", "");
  for (Isa isa : isas) std::printf("%s ", vec::isa_name(isa));
  std::printf("(default %s)\n", vec::isa_name(vec::active_isa()));
}

TEMPLATE_TEST_CASE("vec: every length 0..67 gives position-independent results, in place too", "[vec]", float,
                   double) {
  check_all_lengths<TestType>();
}

TEST_CASE("vec: threads racing on the first call agree", "[vec]") {
  // The instruction set is chosen at the first call; later calls from several threads read it.
  std::vector<double> x(1000), a(1000), b(1000);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = double(i) / 100.0 - 5.0;
  std::thread t([&] { vec::tanh(x.data(), a.data(), Index(x.size())); });
  vec::tanh(x.data(), b.data(), Index(x.size()));
  t.join();
  for (std::size_t i = 0; i < x.size(); ++i) REQUIRE(same_bits(a[i], b[i]));
}

TEST_CASE("pow's gradient over several of its 256-element chunks is p x^(p-1) dC", "[vec][ops]") {
  // elementwise.cpp computes x^(p-1) a chunk at a time; 613 = 2 * 256 + 101 entries cover a partial chunk.
  tapegrad::Parameter<double> a(tapegrad::Matrix<double>::Random(613, 1).array() + 1.5);
  tapegrad::Tape<double> tape;
  tape.backward(tapegrad::sum(tapegrad::pow(tape.parameter(a), 2.5)));
  for (Index i = 0; i < a.value.size(); ++i)
    REQUIRE(a.grad(i) == Approx(2.5 * std::pow(a.value(i), 1.5)).epsilon(1e-14));
}
