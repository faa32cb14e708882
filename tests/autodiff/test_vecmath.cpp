// detail::vec (autodiff/src/vecmath.hpp) against libm in the next wider type (float: double; double: long
// double), on every instruction set this build and CPU support and on the libm fallback: the ulp bounds over
// wide random ranges, special values (±0, ±inf, NaN, subnormals, the overflow and underflow thresholds,
// tanh's saturation), every length 0..67 (the vector tails) and in-place calls.
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
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "tapegrad/autodiff.hpp"
#include "vecmath.hpp"

namespace vec = tapegrad::detail::vec;
using tapegrad::Index;
using vec::Isa;

namespace {

/// The type the exact results are computed in.
template <class T>
using Wide = std::conditional_t<std::is_same_v<T, float>, double, long double>;

template <class T>
constexpr T kInf = std::numeric_limits<T>::infinity();
template <class T>
constexpr T kNaN = std::numeric_limits<T>::quiet_NaN();

std::vector<Isa> supported_isas() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::scalar, Isa::sse2, Isa::avx2})
    if (vec::isa_supported(isa)) out.push_back(isa);
  return out;
}

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

/// |got - exact| in units of T's ulp at exact: 0 when both are NaN or the same infinity, infinite when only
/// one of them is NaN or infinite (after rounding exact to T). An infinite `got` of exact's sign counts as
/// 0 when |exact| > overflow.
template <class T>
double ulp_error(T got, Wide<T> exact, Wide<T> overflow = Wide<T>(std::numeric_limits<T>::max())) {
  using W = Wide<T>;
  const double inf = std::numeric_limits<double>::infinity();
  if (std::isnan(got) || std::isnan(exact)) return std::isnan(got) && std::isnan(exact) ? 0.0 : inf;
  const T rounded = static_cast<T>(exact);
  if (std::isinf(got) && std::fabs(exact) > overflow && (got > 0) == (exact > 0)) return 0.0;
  if (std::isinf(got) || std::isinf(rounded)) return got == rounded ? 0.0 : inf;
  const W a = std::fabs(exact);
  const W ulp = a < W(std::numeric_limits<T>::min())
                    ? W(std::numeric_limits<T>::denorm_min())
                    : std::ldexp(W(1), std::ilogb(a) - (std::numeric_limits<T>::digits - 1));
  return static_cast<double>(std::fabs(W(got) - exact) / ulp);
}

/// Same bits (so NaN equals NaN, and +0 differs from -0).
template <class T>
bool same_bits(T a, T b) {
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}

/// One function under test: its name, the array function and the exact result in Wide<T>.
template <class T>
struct Fn {
  std::string name;
  void (*vec::Kernels<T>::*run)(const T*, T*, Index);  // the function, in any instruction set's table
  Wide<T> (*exact)(Wide<T>);
  std::vector<T> (*inputs)();  // the random inputs and special values it is checked on
};

// ---- inputs

template <class T>
std::vector<T> uniform(std::mt19937_64& rng, int count, double lo, double hi) {
  std::uniform_real_distribution<double> u(lo, hi);
  std::vector<T> out;
  for (int i = 0; i < count; ++i) out.push_back(static_cast<T>(u(rng)));
  return out;
}

/// ±2^u with u uniform in [lo, hi]: every magnitude in between equally often.
template <class T>
std::vector<T> log_uniform(std::mt19937_64& rng, int count, double lo, double hi, bool both_signs) {
  std::uniform_real_distribution<double> u(lo, hi);
  std::vector<T> out;
  for (int i = 0; i < count; ++i) {
    const T v = static_cast<T>(std::exp2(u(rng)));
    out.push_back(both_signs && (rng() & 1) ? -v : v);
  }
  return out;
}

/// x and its neighbours in T, a few ulps either side.
template <class T>
void add_around(std::vector<T>& out, T x, int steps = 4) {
  T lo = x, hi = x;
  out.push_back(x);
  for (int i = 0; i < steps; ++i) {
    lo = std::nextafter(lo, -kInf<T>);
    hi = std::nextafter(hi, kInf<T>);
    out.push_back(lo);
    out.push_back(hi);
  }
}

template <class T>
void add_specials(std::vector<T>& out) {
  using L = std::numeric_limits<T>;
  for (T v : {T(0),
              -T(0),
              kInf<T>,
              -kInf<T>,
              kNaN<T>,
              -kNaN<T>,
              L::denorm_min(),
              -L::denorm_min(),
              L::min(),
              -L::min(),
              std::nextafter(L::min(), T(0)),
              -std::nextafter(L::min(), T(0)),
              L::max(),
              -L::max(),
              L::epsilon(),
              T(1),
              T(-1),
              T(0.5),
              T(2),
              T(-2),
              T(10),
              T(-10)})
    out.push_back(v);
}

constexpr int kRandom = 40000;  // per range

template <class T>
std::vector<T> exp_inputs() {
  using L = std::numeric_limits<T>;
  std::mt19937_64 rng(11);
  const double over = std::log(double(L::max())), under = std::log(double(L::denorm_min()));
  auto out = uniform<T>(rng, kRandom, under - 2, over + 2);            // the whole finite-result range
  auto small = log_uniform<T>(rng, kRandom, -L::digits - 4, 3, true);  // around 0
  out.insert(out.end(), small.begin(), small.end());
  add_specials(out);
  add_around(out, T(over));                        // overflow to inf
  add_around(out, T(under));                       // underflow to 0
  add_around(out, T(std::log(double(L::min()))));  // results turn subnormal
  for (T v : uniform<T>(rng, 2000, under - 1, std::log(double(L::min())) + 1)) out.push_back(v);
  return out;
}

template <class T>
std::vector<T> log_inputs() {
  using L = std::numeric_limits<T>;
  std::mt19937_64 rng(12);
  // Every exponent, subnormals included; then close to 1, where log is small; then negatives (NaN).
  auto out = log_uniform<T>(rng, kRandom, L::min_exponent - L::digits - 1, L::max_exponent, false);
  for (T v : log_uniform<T>(rng, kRandom / 2, -L::digits - 2, -1, true)) out.push_back(T(1) + v);
  for (T v : uniform<T>(rng, kRandom / 2, 0.25, 4)) out.push_back(v);
  for (T v : log_uniform<T>(rng, 1000, -20, 20, false)) out.push_back(-v);
  add_specials(out);
  add_around(out, T(1));
  return out;
}

template <class T>
std::vector<T> tanh_inputs() {
  using L = std::numeric_limits<T>;
  std::mt19937_64 rng(13);
  auto out = log_uniform<T>(rng, kRandom, L::min_exponent - L::digits - 1, 10, true);
  for (T v : uniform<T>(rng, kRandom, -25, 25)) out.push_back(v);
  add_specials(out);
  // Where tanh rounds to ±1: atanh(1 - eps/4), about 9.01 (float) and 19.06 (double).
  const T sat = static_cast<T>(std::atanh(1 - double(L::epsilon()) / 4));
  add_around(out, sat, 16);
  add_around(out, -sat, 16);
  return out;
}

template <class T>
std::vector<T> sigmoid_inputs() {
  using L = std::numeric_limits<T>;
  std::mt19937_64 rng(14);
  const double under = std::log(double(L::denorm_min()));
  auto out = uniform<T>(rng, kRandom, under - 2, 50);  // down to where sigmoid underflows to 0
  for (T v : log_uniform<T>(rng, kRandom, -L::digits - 4, 8, true)) out.push_back(v);
  for (T v : uniform<T>(rng, kRandom / 4, -20, 20)) out.push_back(v);
  add_specials(out);
  add_around(out, T(under));
  add_around(out, T(std::log(double(L::min()))));
  return out;
}

template <class T>
std::vector<T> pow_inputs() {
  using L = std::numeric_limits<T>;
  std::mt19937_64 rng(15);
  auto out = log_uniform<T>(rng, kRandom, -30, 30, true);
  for (T v : uniform<T>(rng, kRandom / 2, -4, 4)) out.push_back(v);
  for (T v : log_uniform<T>(rng, kRandom / 4, L::min_exponent - L::digits - 1, L::max_exponent, false))
    out.push_back(v);
  add_specials(out);
  return out;
}

template <class T>
std::vector<T> trig_inputs() {
  std::mt19937_64 rng(16);
  auto out = uniform<T>(rng, kRandom, -10, 10);
  for (T v : log_uniform<T>(rng, kRandom, -std::numeric_limits<T>::digits - 4, 3, true)) out.push_back(v);
  for (T v : log_uniform<T>(rng, kRandom / 4, 3, 40, true)) out.push_back(v);  // argument reduction
  add_specials(out);
  return out;
}

template <class T>
std::vector<T> log1p_inputs() {
  using L = std::numeric_limits<T>;
  std::mt19937_64 rng(17);
  // Tiny of both signs (where 1 + x rounds), then [-1, 10], every positive exponent, and below -1 (NaN).
  auto out = log_uniform<T>(rng, kRandom, L::min_exponent - L::digits - 1, -1, true);
  for (T v : uniform<T>(rng, kRandom, -1, 10)) out.push_back(v);
  for (T v : log_uniform<T>(rng, kRandom / 4, 0, L::max_exponent, false)) out.push_back(v);
  for (T v : uniform<T>(rng, 1000, -10, -1)) out.push_back(v);
  add_specials(out);
  add_around(out, T(-1));
  return out;
}

template <class T>
std::vector<T> expm1_inputs() {
  using L = std::numeric_limits<T>;
  std::mt19937_64 rng(18);
  const double over = std::log(double(L::max()));
  auto out = uniform<T>(rng, kRandom, -L::digits - 10, over + 2);
  for (T v : log_uniform<T>(rng, kRandom, L::min_exponent - L::digits - 1, 3, true)) out.push_back(v);
  add_specials(out);
  add_around(out, T(over));
  return out;
}

/// The exponents pow is checked with (integers, halves, thirds, large; positive and negative).
template <class T>
const std::vector<T>& pow_exponents() {
  static const std::vector<T> ps = {T(0),    T(1),   T(2),    T(3),   T(-1),    T(-2), T(0.5),
                                    T(-0.5), T(1.5), T(-1.5), T(2.5), T(1) / 3, T(10), T(-7)};
  return ps;
}

template <class W>
W exact_sigmoid(W x) {
  const W e = std::exp(-std::fabs(x));
  return x >= 0 ? 1 / (1 + e) : e / (1 + e);
}

template <class W>
W exact_softplus(W x) {
  return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}

template <class T>
std::vector<Fn<T>> functions() {
  using W = Wide<T>;
  return {
      {"exp", &vec::Kernels<T>::exp, [](W x) { return std::exp(x); }, exp_inputs<T>},
      {"log", &vec::Kernels<T>::log, [](W x) { return std::log(x); }, log_inputs<T>},
      {"tanh", &vec::Kernels<T>::tanh, [](W x) { return std::tanh(x); }, tanh_inputs<T>},
      {"sigmoid", &vec::Kernels<T>::sigmoid, exact_sigmoid<W>, sigmoid_inputs<T>},
      {"sin", &vec::Kernels<T>::sin, [](W x) { return std::sin(x); }, trig_inputs<T>},
      {"cos", &vec::Kernels<T>::cos, [](W x) { return std::cos(x); }, trig_inputs<T>},
      {"log1p", &vec::Kernels<T>::log1p, [](W x) { return std::log1p(x); }, log1p_inputs<T>},
      {"expm1", &vec::Kernels<T>::expm1, [](W x) { return std::expm1(x); }, expm1_inputs<T>},
      {"softplus", &vec::Kernels<T>::softplus, exact_softplus<W>, sigmoid_inputs<T>},
  };
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

/// Exact special values that any correct implementation gives (beyond the ulp bound): signs of zero,
/// saturation, C99's special cases.
template <class T>
void check_exact_specials() {
  using L = std::numeric_limits<T>;
  auto one = [](void (*run)(const T*, T*, Index), T x) {
    T y;
    run(&x, &y, 1);
    return y;
  };
  for (Isa isa : supported_isas()) {
    const vec::Kernels<T>& K = vec::kernels<T>(isa);
    auto pw = [&K](T x, T p) {
      T y;
      K.pow(&x, p, &y, 1);
      return y;
    };
    CAPTURE(vec::isa_name(isa));
    CHECK(one(K.exp, T(0)) == T(1));
    CHECK(one(K.exp, -kInf<T>) == T(0));
    CHECK(one(K.exp, kInf<T>) == kInf<T>);
    CHECK(one(K.exp, T(1000)) == kInf<T>);
    CHECK(one(K.exp, T(-1000)) == T(0));
    CHECK(std::isnan(one(K.exp, kNaN<T>)));
    CHECK(one(K.log, T(1)) == T(0));
    CHECK(one(K.log, T(0)) == -kInf<T>);
    CHECK(one(K.log, -T(0)) == -kInf<T>);
    CHECK(one(K.log, kInf<T>) == kInf<T>);
    CHECK(std::isnan(one(K.log, T(-1))));
    CHECK(std::isnan(one(K.log, -kInf<T>)));
    CHECK(std::isnan(one(K.log, kNaN<T>)));
    CHECK(one(K.log, L::denorm_min()) == Approx(std::log(double(L::denorm_min()))));
    CHECK(same_bits(one(K.tanh, T(0)), T(0)));
    CHECK(same_bits(one(K.tanh, -T(0)), -T(0)));
    CHECK(one(K.tanh, kInf<T>) == T(1));
    CHECK(one(K.tanh, -kInf<T>) == T(-1));
    CHECK(one(K.tanh, T(30)) == T(1));
    CHECK(one(K.tanh, T(-30)) == T(-1));
    CHECK(std::isnan(one(K.tanh, kNaN<T>)));
    CHECK(one(K.sigmoid, T(0)) == T(0.5));
    CHECK(one(K.sigmoid, -T(0)) == T(0.5));
    CHECK(one(K.sigmoid, kInf<T>) == T(1));
    CHECK(one(K.sigmoid, -kInf<T>) == T(0));
    CHECK(one(K.sigmoid, T(-1000)) == T(0));
    CHECK(one(K.sigmoid, L::max()) == T(1));
    CHECK(one(K.sigmoid, -L::max()) == T(0));
    CHECK(std::isnan(one(K.sigmoid, kNaN<T>)));
    // sigmoid of a large negative number keeps its relative accuracy (1/(1+exp(-x)) would too, but
    // exp(-x) overflows for x below -log(max)).
    const T far = std::is_same_v<T, float> ? T(-100) : T(-700);
    CHECK(ulp_error(one(K.sigmoid, far), exact_sigmoid(Wide<T>(far))) <= 3.0);
    CHECK(pw(T(2), T(10)) == T(1024));
    CHECK(pw(T(-2), T(3)) == T(-8));
    CHECK(pw(T(-2), T(2)) == T(4));
    CHECK(std::isnan(pw(T(-2), T(0.5))));
    CHECK(pw(kNaN<T>, T(0)) == T(1));
    CHECK(pw(T(0), T(-1)) == kInf<T>);
    CHECK(pw(-T(0), T(-1)) == -kInf<T>);
    CHECK(pw(T(0), T(0.5)) == T(0));
    CHECK(pw(kInf<T>, T(-1)) == T(0));
    CHECK(pw(T(10), T(1000)) == kInf<T>);
    CHECK(same_bits(pw(-T(0), T(3)), -T(0)));
    CHECK(one(K.sin, T(0)) == T(0));
    CHECK(same_bits(one(K.sin, -T(0)), -T(0)));
    CHECK(one(K.cos, T(0)) == T(1));
    CHECK(std::isnan(one(K.sin, kInf<T>)));
    CHECK(std::isnan(one(K.cos, -kInf<T>)));
    CHECK(one(K.log1p, T(-1)) == -kInf<T>);
    CHECK(std::isnan(one(K.log1p, T(-2))));
    CHECK(one(K.log1p, L::denorm_min()) == L::denorm_min());
    CHECK(one(K.expm1, -kInf<T>) == T(-1));
    CHECK(one(K.expm1, kInf<T>) == kInf<T>);
    CHECK(one(K.expm1, L::denorm_min()) == L::denorm_min());
    CHECK(one(K.softplus, kInf<T>) == kInf<T>);
    CHECK(one(K.softplus, -kInf<T>) == T(0));
    CHECK(one(K.softplus, L::max()) == L::max());
    CHECK(std::isnan(one(K.softplus, kNaN<T>)));
    CHECK(ulp_error(one(K.softplus, far), exact_softplus(Wide<T>(far))) <= 2.0);
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
TEMPLATE_TEST_CASE("vec: special values follow C99 on every instruction set", "[vec]", float, double) {
  check_exact_specials<TestType>();
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

TEST_CASE("vec: measured ulp", "[.report]") {
  print_measured<float>();
  print_measured<double>();
}
