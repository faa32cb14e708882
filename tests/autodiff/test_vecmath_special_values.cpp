// detail::vec's special values on every instruction set: exact results that any correct implementation
// gives beyond the ulp bound (signs of zero, saturation, C99's special cases, overflow and underflow).
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <type_traits>

#include "tapegrad/autodiff.hpp"
#include "vecmath.hpp"
#include "vecmath_check.hpp"
#include "vecmath_inputs.hpp"

using tapegrad::Index;
using namespace tapegrad::test;

namespace {

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

}  // namespace

TEMPLATE_TEST_CASE("vec: special values follow C99 on every instruction set", "[vec]", float, double) {
  check_exact_specials<TestType>();
}
