// Vectorised elementwise math (vecmath.hpp): SLEEF's SSE2 or AVX2+FMA functions chosen at run time, or libm.
#include "vecmath.hpp"

#include <cmath>
#include <cstddef>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>

#if defined(TAPEGRAD_HAVE_SLEEF) && defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define TAPEGRAD_VEC_X86 1
#else
#define TAPEGRAD_VEC_X86 0
#endif

namespace tapegrad::detail::vec {
namespace {

// ---- libm, one element at a time: the fallback, and the reference path of the tests.
namespace scalar {

// libm's functions of one argument, an element at a time.
#define TAPEGRAD_LIBM_FUNCTIONS(X) X(exp) X(log) X(tanh) X(sin) X(cos) X(log1p) X(expm1)
#define TAPEGRAD_LIBM_UNARY(name)                         \
  template <class T>                                      \
  void name(const T* x, T* y, Index n) {                  \
    for (Index i = 0; i < n; ++i) y[i] = std::name(x[i]); \
  }
TAPEGRAD_LIBM_FUNCTIONS(TAPEGRAD_LIBM_UNARY)
#undef TAPEGRAD_LIBM_UNARY
#undef TAPEGRAD_LIBM_FUNCTIONS

template <class T>
void pow(const T* x, T p, T* y, Index n) {
  for (Index i = 0; i < n; ++i) y[i] = std::pow(x[i], p);
}
template <class T>
void powv(const T* x, const T* p, T* y, Index n) {
  for (Index i = 0; i < n; ++i) y[i] = std::pow(x[i], p[i]);
}
// The same formula as the vector paths' (vecmath_kernels.inc): never exp of a positive number.
template <class T>
void sigmoid(const T* x, T* y, Index n) {
  for (Index i = 0; i < n; ++i) {
    const T v = x[i];
    const T e = std::exp(v >= T(0) ? -v : v);
    const T s = T(1) / (T(1) + e);
    y[i] = v >= T(0) ? s : e * s;
  }
}
// The same formula as the vector paths' (vecmath_kernels.inc): max(x, 0) + log1p(exp(-|x|)).
template <class T>
void softplus(const T* x, T* y, Index n) {
  for (Index i = 0; i < n; ++i) {
    const T v = x[i];
    y[i] = (v > T(0) ? v : T(0)) + std::log1p(std::exp(v > T(0) ? -v : v));
  }
}

template <class T>
constexpr Kernels<T> kernels = {exp<T>, log<T>, tanh<T>,  sigmoid<T>, pow<T>,     powv<T>,
                                sin<T>, cos<T>, log1p<T>, expm1<T>,   softplus<T>};

}  // namespace scalar

#if TAPEGRAD_VEC_X86
// ---- SLEEF. Its entry points are declared here with GCC's vector types (the ABI of __m128/__m128d and
// __m256/__m256d: the same registers) because sleef.h declares the AVX2 ones only in translation units
// compiled with -mavx, which would let AVX instructions into code that runs on any x86-64. The "u10"
// functions are accurate to 1.0 ulp, the "u35" ones to 3.5 ulp. Tanh is the u35 one, where a network's
// activations spend their time: in float twice as fast as the u10 one and faster than Eigen's own vectorised
// float tanh (which is within 6 ulp); in double 1.5x as fast as the u10 one (62 vs 96 µs for 16384 entries,
// AVX2), and on SSE2 faster than libm where the u10 one is slower.
using f32x4 = float __attribute__((vector_size(16)));
using f64x2 = double __attribute__((vector_size(16)));
using f32x8 = float __attribute__((vector_size(32)));
using f64x4 = double __attribute__((vector_size(32)));

// Declares SLEEF's float and double `name` (accuracy suffix acc) for one instruction set (suffix ISA, NF
// float and ND double lanes) and wraps them as v<name> overloaded on the namespace's VF and VD:
// Sleef_expf4_u10sse2 and Sleef_expd2_u10sse2 become vexp.
#define TAPEGRAD_SLEEF_UNARY(ISA, NF, ND, name, acc)                      \
  extern "C" VF Sleef_##name##f##NF##_##acc##ISA(VF);                     \
  extern "C" VD Sleef_##name##d##ND##_##acc##ISA(VD);                     \
  inline VF v##name(VF x) { return Sleef_##name##f##NF##_##acc##ISA(x); } \
  inline VD v##name(VD x) { return Sleef_##name##d##ND##_##acc##ISA(x); }
#define TAPEGRAD_SLEEF_BINARY(ISA, NF, ND, name, acc)                              \
  extern "C" VF Sleef_##name##f##NF##_##acc##ISA(VF, VF);                          \
  extern "C" VD Sleef_##name##d##ND##_##acc##ISA(VD, VD);                          \
  inline VF v##name(VF x, VF p) { return Sleef_##name##f##NF##_##acc##ISA(x, p); } \
  inline VD v##name(VD x, VD p) { return Sleef_##name##d##ND##_##acc##ISA(x, p); }
// What vecmath_kernels.inc needs for one instruction set: the vector types VF and VD of its NF float and ND
// double lanes, and the SLEEF functions on them.
#define TAPEGRAD_SLEEF_FUNCTIONS(ISA, NF, ND)   \
  using VF = f32x##NF;                          \
  using VD = f64x##ND;                          \
  TAPEGRAD_SLEEF_UNARY(ISA, NF, ND, exp, u10)   \
  TAPEGRAD_SLEEF_UNARY(ISA, NF, ND, log, u10)   \
  TAPEGRAD_SLEEF_UNARY(ISA, NF, ND, tanh, u35)  \
  TAPEGRAD_SLEEF_BINARY(ISA, NF, ND, pow, u10)  \
  TAPEGRAD_SLEEF_UNARY(ISA, NF, ND, sin, u10)   \
  TAPEGRAD_SLEEF_UNARY(ISA, NF, ND, cos, u10)   \
  TAPEGRAD_SLEEF_UNARY(ISA, NF, ND, log1p, u10) \
  TAPEGRAD_SLEEF_UNARY(ISA, NF, ND, expm1, u10)

namespace sse2 {
TAPEGRAD_SLEEF_FUNCTIONS(sse2, 4, 2)
#include "vecmath_kernels.inc"
}  // namespace sse2

// Everything from here to the matching pop is compiled for AVX2+FMA (as if each function carried
// __attribute__((target("avx2,fma")))), and only runs once the CPU was found to have both.
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif

namespace avx2 {
TAPEGRAD_SLEEF_FUNCTIONS(avx2, 8, 4)
#include "vecmath_kernels.inc"
}  // namespace avx2

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#undef TAPEGRAD_SLEEF_FUNCTIONS
#undef TAPEGRAD_SLEEF_BINARY
#undef TAPEGRAD_SLEEF_UNARY

bool cpu_has_avx2_fma() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#endif  // TAPEGRAD_VEC_X86

/// The functions of one instruction set, for both types.
struct Table {
  Isa isa;
  Kernels<float> f;
  Kernels<double> d;
};
constexpr Table kScalar = {Isa::scalar, scalar::kernels<float>, scalar::kernels<double>};
#if TAPEGRAD_VEC_X86
constexpr Table kSse2 = {Isa::sse2, sse2::kernels<float>, sse2::kernels<double>};
constexpr Table kAvx2 = {Isa::avx2, avx2::kernels<float>, avx2::kernels<double>};
#endif

const Table& table_for(Isa isa) {
#if TAPEGRAD_VEC_X86
  if (isa == Isa::avx2) return kAvx2;
  if (isa == Isa::sse2) return kSse2;
#endif
  (void)isa;
  return kScalar;
}

Isa best_isa() {
#if TAPEGRAD_VEC_X86
  return cpu_has_avx2_fma() ? Isa::avx2 : Isa::sse2;
#else
  return Isa::scalar;
#endif
}

// The table the functions use: the best instruction set the CPU supports, chosen at the first call
// (thread-safe) and never changed.
const Table& active() {
  static const Table& chosen = table_for(best_isa());
  return chosen;
}

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::scalar:
      return "scalar";
    case Isa::sse2:
      return "sse2";
    case Isa::avx2:
      return "avx2";
  }
  return "unknown";
}

bool isa_supported(Isa isa) {
  switch (isa) {
    case Isa::scalar:
      return true;
#if TAPEGRAD_VEC_X86
    case Isa::sse2:
      return true;  // part of x86-64
    case Isa::avx2:
      return cpu_has_avx2_fma();
#endif
    default:
      return false;
  }
}

Isa active_isa() { return active().isa; }

namespace {
const Table& supported_table(Isa isa) {
  if (!isa_supported(isa))
    throw std::invalid_argument(std::string("vec::kernels: ") + isa_name(isa) +
                                " is not supported by this build or CPU");
  return table_for(isa);
}
}  // namespace

template <>
const Kernels<float>& kernels<float>(Isa isa) {
  return supported_table(isa).f;
}
template <>
const Kernels<double>& kernels<double>(Isa isa) {
  return supported_table(isa).d;
}

template <>
const Kernels<float>& active_kernels<float>() {
  return active().f;
}
template <>
const Kernels<double>& active_kernels<double>() {
  return active().d;
}

}  // namespace tapegrad::detail::vec
