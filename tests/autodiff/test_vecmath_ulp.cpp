// detail::vec (autodiff/src/vecmath.hpp) against libm in the next wider type (float: double; double: long
// double), on every instruction set this build and CPU support and on the libm fallback: the ulp bounds over
// wide random ranges (the special values, the lengths and the choice of instruction set are checked in
// test_vecmath_special_values.cpp and test_vecmath_dispatch_and_lengths.cpp).
//
// The bounds asserted, as |y - exact| / ulp(exact) with exact the wider type's result, and the maxima seen
// on an AMD EPYC (AVX2) with SLEEF 3.5.1 and glibc 2.36 (test_vecmath "[.report]" prints them):
//   SLEEF (sse2, avx2): exp, log, pow <= 1 ulp (SLEEF's "u10" promise; seen 0.96, 0.71, 0.73);
//                       tanh <= 3.5 ulp (SLEEF's "u35" tanh, 1.5x (double) to 2.4x (float) faster than the
//                       "u10" one; seen 2.45 in float, 2.28 in double);
//                       sigmoid <= 3 ulp (seen 2.22); sin, cos, log1p, expm1 <= 1 ulp (seen 0.88, 0.57,
//                       1.00 in float; 0.74, 0.73, 1.00 in double); softplus <= 2 ulp (seen 1.46);
//                       pow with an exponent per element within pow's bound.
//   libm (scalar):      exp, log, pow <= 1 ulp (seen 0.50, 0.79, 0.51); sigmoid <= 3 ulp (seen 2.22);
//                       tanh <= 2.5 ulp (glibc's tanhf: 2.05); sin, cos, log1p, expm1 <= 1 ulp (seen
//                       0.74); softplus <= 2 ulp (seen 1.37).
// One exception on the SLEEF paths, in double only: exp and pow overflow to inf as soon as the result exceeds
// 1.79769e308, 1.75e-6 below DBL_MAX (exp(x) for x > 709.7827111 instead of 709.7827129); an infinite result
// is accepted there.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "tapegrad/autodiff.hpp"
#include "vecmath.hpp"
#include "vecmath_check.hpp"
#include "vecmath_inputs.hpp"

using tapegrad::Index;
using namespace tapegrad::test;

namespace {

/// The bound asserted for `fn` ("exp", ..., "sigmoid") in T on `isa` (see the top of the file).
template <class T>
double ulp_bound(Isa isa, const std::string& fn) {
  if (fn == "sigmoid") return 3.0;
  if (fn == "softplus") return 2.0;
  if (fn == "tanh") return isa == Isa::scalar ? 2.5 : 3.5;
  return 1.0;
}

/// Above this magnitude a result may overflow to ±inf on `isa` (see the top of the file).
template <class T>
Wide<T> early_overflow(Isa isa) {
  if (std::is_same_v<T, double> && isa != Isa::scalar) return Wide<T>(1.79769e308);
  return Wide<T>(std::numeric_limits<T>::max());
}

/// The largest error of one call over xs, and where.
template <class T>
struct Worst {
  double ulp = 0;
  T x = 0, got = 0;
  Wide<T> exact = 0;
};

template <class T, class Run, class Exact>
Worst<T> measure(const std::vector<T>& xs, Run run, Exact exact, Wide<T> overflow) {
  std::vector<T> ys(xs.size());
  run(xs.data(), ys.data(), static_cast<Index>(xs.size()));
  Worst<T> w;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const Wide<T> e = exact(Wide<T>(xs[i]));
    const double u = ulp_error(ys[i], e, overflow);
    if (u > w.ulp || std::isnan(u)) w = {u, xs[i], ys[i], e};
  }
  return w;
}

template <class T>
void require_within(const Worst<T>& w, double bound) {
  INFO("worst: x = " << double(w.x) << " got " << double(w.got) << " exact " << double(w.exact) << " ("
                     << w.ulp << " ulp)");
  CHECK(w.ulp <= bound);
}

template <class T>
void check_ulp(const std::string& name) {
  for (const Fn<T>& f : functions<T>()) {
    if (f.name != name) continue;
    const std::vector<T> xs = f.inputs();
    for (Isa isa : supported_isas()) {
      const vec::Kernels<T>& K = vec::kernels<T>(isa);
      CAPTURE(vec::isa_name(isa), name, xs.size());
      require_within(measure(xs, K.*f.run, f.exact, early_overflow<T>(isa)), ulp_bound<T>(isa, name));
    }
  }
}

/// pow(x, p) for every exponent of pow_exponents.
template <class T>
void check_pow_ulp() {
  const std::vector<T> xs = pow_inputs<T>();
  for (Isa isa : supported_isas()) {
    const vec::Kernels<T>& K = vec::kernels<T>(isa);
    for (T p : pow_exponents<T>()) {
      CAPTURE(vec::isa_name(isa), double(p));
      const auto w = measure(
          xs, [p, &K](const T* x, T* y, Index n) { K.pow(x, p, y, n); },
          [p](Wide<T> x) { return std::pow(x, Wide<T>(p)); }, early_overflow<T>(isa));
      require_within(w, ulp_bound<T>(isa, "pow"));
    }
  }
}

/// pow(x[i], p[i]) with an exponent per element: random bases and exponents (the exponents of
/// pow_exponents among them), within pow's bound.
template <class T>
void check_powv_ulp() {
  const std::vector<T> xs = pow_inputs<T>();
  std::mt19937_64 rng(19);
  std::vector<T> ps = uniform<T>(rng, int(xs.size()), -4, 4);
  for (std::size_t i = 0; i < ps.size(); i += 3) ps[i] = pow_exponents<T>()[i % pow_exponents<T>().size()];
  for (Isa isa : supported_isas()) {
    const vec::Kernels<T>& K = vec::kernels<T>(isa);
    CAPTURE(vec::isa_name(isa));
    std::vector<T> ys(xs.size());
    K.powv(xs.data(), ps.data(), ys.data(), Index(xs.size()));
    double worst = 0;
    std::size_t at = 0;
    for (std::size_t i = 0; i < xs.size(); ++i) {
      const double u = ulp_error(ys[i], std::pow(Wide<T>(xs[i]), Wide<T>(ps[i])), early_overflow<T>(isa));
      if (u > worst || std::isnan(u)) worst = u, at = i;
    }
    INFO("worst: pow(" << double(xs[at]) << ", " << double(ps[at]) << ") = " << double(ys[at]) << " ("
                       << worst << " ulp)");
    CHECK(worst <= ulp_bound<T>(isa, "pow"));
    // An element's result does not depend on its position: the same as the scalar-exponent function's.
    for (std::size_t i = 0; i < xs.size(); i += 7) {
      T one;
      K.pow(&xs[i], ps[i], &one, 1);
      REQUIRE(same_bits(one, ys[i]));
    }
  }
}

template <class T>
void print_measured() {
  const char* type = std::is_same_v<T, float> ? "float" : "double";
  for (Isa isa : supported_isas()) {
    const vec::Kernels<T>& K = vec::kernels<T>(isa);
    for (const Fn<T>& f : functions<T>()) {
      const auto w = measure(f.inputs(), K.*f.run, f.exact, early_overflow<T>(isa));
      std::printf("%-6s %-6s %-8s max %.3f ulp (x = %.9g)\n", vec::isa_name(isa), type, f.name.c_str(), w.ulp,
                  double(w.x));
    }
    double worst = 0;
    for (T p : pow_exponents<T>()) {
      const auto w = measure(
          pow_inputs<T>(), [p, &K](const T* x, T* y, Index n) { K.pow(x, p, y, n); },
          [p](Wide<T> x) { return std::pow(x, Wide<T>(p)); }, early_overflow<T>(isa));
      worst = std::max(worst, w.ulp);
    }
    std::printf("%-6s %-6s %-8s max %.3f ulp (every exponent)\n", vec::isa_name(isa), type, "pow", worst);
  }
}

}  // namespace

TEMPLATE_TEST_CASE("vec::exp is within its ulp bound on every instruction set", "[vec]", float, double) {
  check_ulp<TestType>("exp");
}
TEMPLATE_TEST_CASE("vec::log is within its ulp bound on every instruction set", "[vec]", float, double) {
  check_ulp<TestType>("log");
}
TEMPLATE_TEST_CASE("vec::tanh is within its ulp bound on every instruction set", "[vec]", float, double) {
  check_ulp<TestType>("tanh");
}
TEMPLATE_TEST_CASE("vec::sigmoid is within its ulp bound on every instruction set", "[vec]", float, double) {
  check_ulp<TestType>("sigmoid");
}
TEMPLATE_TEST_CASE("vec::pow is within its ulp bound on every instruction set", "[vec]", float, double) {
  check_pow_ulp<TestType>();
}
TEMPLATE_TEST_CASE("vec::sin and cos are within their ulp bound on every instruction set", "[vec]", float,
                   double) {
  check_ulp<TestType>("sin");
  check_ulp<TestType>("cos");
}
TEMPLATE_TEST_CASE("vec::log1p and expm1 are within their ulp bound on every instruction set", "[vec]", float,
                   double) {
  check_ulp<TestType>("log1p");
  check_ulp<TestType>("expm1");
}
TEMPLATE_TEST_CASE("vec::softplus is within its ulp bound on every instruction set", "[vec]", float, double) {
  check_ulp<TestType>("softplus");
}
TEMPLATE_TEST_CASE("vec::pow with an exponent per element is within pow's bound", "[vec]", float, double) {
  check_powv_ulp<TestType>();
}

TEST_CASE("vec: measured ulp", "[.report]") {
  print_measured<float>();
  print_measured<double>();
}
