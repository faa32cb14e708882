// The inputs detail::vec is checked on (test_vecmath_*.cpp): per function, random values over wide ranges
// (uniform and log-uniform), special values (±0, ±inf, NaN, subnormals, the overflow and underflow
// thresholds, tanh's saturation) and their neighbours; pow's exponents.
#pragma once

#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace tapegrad::test {

template <class T>
inline constexpr T kInf = std::numeric_limits<T>::infinity();
template <class T>
inline constexpr T kNaN = std::numeric_limits<T>::quiet_NaN();

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

inline constexpr int kRandom = 40000;  // per range

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

}  // namespace tapegrad::test
