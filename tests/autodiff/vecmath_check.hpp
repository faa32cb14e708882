// Helpers of the detail::vec tests (test_vecmath_*.cpp): the instruction sets this build and CPU support, the
// error in ulps against the exact result (libm in the next wider type), and the functions under test.
#pragma once

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "tapegrad/autodiff.hpp"
#include "vecmath.hpp"
#include "vecmath_inputs.hpp"

namespace tapegrad::test {

namespace vec = tapegrad::detail::vec;
using vec::Isa;

/// The type the exact results are computed in.
template <class T>
using Wide = std::conditional_t<std::is_same_v<T, float>, double, long double>;

inline std::vector<Isa> supported_isas() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::scalar, Isa::sse2, Isa::avx2})
    if (vec::isa_supported(isa)) out.push_back(isa);
  return out;
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

}  // namespace tapegrad::test
