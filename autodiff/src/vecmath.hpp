// Vectorised elementwise math over contiguous arrays (internal): exp, log, tanh, sigmoid, pow, sin, cos,
// log1p, expm1 and softplus for float and double, through SLEEF's SIMD functions where the build and the CPU
// allow, else libm.
//
// The library is compiled for baseline x86-64, so the instruction set is chosen at run time, once, at the
// first call (thread-safe), and never changes (tests and benchmarks reach the others through kernels(isa)):
// AVX2+FMA when the CPU has both, SSE2 otherwise; libm's scalar functions when tapegrad was configured
// without SLEEF (TAPEGRAD_SLEEF=OFF) or off x86-64. The vector paths handle a tail shorter than a vector by
// running the same vector function on a padded copy, so an element's result does not depend on its position
// or on n. Every function accepts x == y (in place); the arrays must not otherwise overlap.
//
// Accuracy, measured by tests/autodiff/test_vecmath_ulp.cpp against the exact result (libm in the next wider
// type) over the whole domain, special values included: on the SLEEF paths exp, log and pow within 1 ulp
// (SLEEF's "u10" functions), tanh within 1.001 ulp in double and 3.5 ulp in float (SLEEF's faster "u35"
// function); on the libm path exp, log and pow within 1 ulp, tanh
// within 2.5 (glibc's tanhf); sigmoid within 3 ulp on every path; sin, cos, log1p, expm1 within 1 ulp and
// softplus within 2 on every path. Special values follow C99 (log(0) = -inf,
// log(x < 0) = NaN, pow's special cases, NaN in NaN out). One exception, SLEEF's and in double only: exp and
// pow overflow to inf once the result exceeds 1.79769e308, 1.75e-6 below DBL_MAX (exp(x) for
// x > 709.7827111 rather than 709.7827129). The SSE2 and AVX2+FMA paths may differ in the last bit.
#pragma once

#include "tapegrad/autodiff/matrix.hpp"

namespace tapegrad::detail::vec {

/// The instruction sets the array functions can run on. `scalar` is the libm fallback.
enum class Isa { scalar, sse2, avx2 };

/// "scalar", "sse2", "avx2".
const char* isa_name(Isa isa);
/// Whether this build and this CPU can run `isa` (`scalar` always can).
bool isa_supported(Isa isa);
/// The instruction set the functions below use: the best one this build and CPU support, chosen at the
/// first call and fixed for the process.
Isa active_isa();

/// One instruction set's array functions for T.
template <class T>
struct Kernels {
  void (*exp)(const T*, T*, Index);
  void (*log)(const T*, T*, Index);
  void (*tanh)(const T*, T*, Index);
  void (*sigmoid)(const T*, T*, Index);
  void (*pow)(const T*, T, T*, Index);
  void (*powv)(const T*, const T*, T*, Index);
  void (*sin)(const T*, T*, Index);
  void (*cos)(const T*, T*, Index);
  void (*log1p)(const T*, T*, Index);
  void (*expm1)(const T*, T*, Index);
  void (*softplus)(const T*, T*, Index);
};
/// The functions of `isa`, for tests and benchmarks that compare the paths side by side:
/// std::invalid_argument if this build or CPU cannot run it.
template <class T>
const Kernels<T>& kernels(Isa isa);
template <>
const Kernels<float>& kernels<float>(Isa isa);
template <>
const Kernels<double>& kernels<double>(Isa isa);

/// The active instruction set's functions for T (active_isa()'s), which the functions below call.
template <class T>
const Kernels<T>& active_kernels();
template <>
const Kernels<float>& active_kernels<float>();
template <>
const Kernels<double>& active_kernels<double>();

// The array functions, for T float or double, each through active_kernels<T>():
//
//   exp       y[i] = exp(x[i]) for i < n. Overflows to +inf (slightly early in double, see above), underflows
//             through the subnormals to 0.
//   log       y[i] = log(x[i]) (natural logarithm): -inf at ±0, NaN below 0, subnormal inputs exact.
//   tanh      y[i] = tanh(x[i]); ±1 once tanh rounds to it.
//   sigmoid   y[i] = 1 / (1 + exp(-x[i])), computed from e = exp(-|x|) as 1 / (1 + e) for x >= 0 and
//             e / (1 + e) below: it never exponentiates a positive number, so it neither overflows nor loses
//             the relative accuracy of tiny results (sigmoid(-700) = 9.86e-305 in double). Within 3 ulp
//             (2.22 seen).
//   sin, cos  y[i] = sin(x[i]), cos(x[i]) (SLEEF's u10 functions, with full argument reduction).
//   log1p     y[i] = log(1 + x[i]), accurate for tiny x (where 1 + x rounds).
//   expm1     y[i] = exp(x[i]) - 1, accurate for tiny x.
//   softplus  y[i] = log(1 + exp(x[i])), computed as max(x, 0) + log1p(exp(-|x|)): never overflows, keeps
//             the relative accuracy of tiny results (softplus(-700) = 9.86e-305 in double). Within 2 ulp.
#define TAPEGRAD_VEC_UNARY(X) X(exp) X(log) X(tanh) X(sigmoid) X(sin) X(cos) X(log1p) X(expm1) X(softplus)
#define TAPEGRAD_VEC_DISPATCH(name)      \
  template <class T>                     \
  void name(const T* x, T* y, Index n) { \
    active_kernels<T>().name(x, y, n);   \
  }
TAPEGRAD_VEC_UNARY(TAPEGRAD_VEC_DISPATCH)
#undef TAPEGRAD_VEC_DISPATCH
#undef TAPEGRAD_VEC_UNARY

/// y[i] = pow(x[i], p) for i < n, with C99's special cases (negative x: finite only for integer p).
template <class T>
void pow(const T* x, T p, T* y, Index n) {
  active_kernels<T>().pow(x, p, y, n);
}
/// y[i] = pow(x[i], p[i]) for i < n: an exponent per element (y may be x or p; no other overlap).
template <class T>
void pow(const T* x, const T* p, T* y, Index n) {
  active_kernels<T>().powv(x, p, y, n);
}

}  // namespace tapegrad::detail::vec
