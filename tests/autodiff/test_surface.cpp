// The library's surface for a new user: scalars of any arithmetic type, item(), printing,
// and what Var::grad() gives for nodes the last backward did not reach and for constants.
#include <catch2/catch.hpp>
#include <cstdint>
#include <sstream>

#include "tapegrad/autodiff.hpp"

using namespace tapegrad;
using M = Matrix<double>;

namespace {
// The value of f(x) for x = [[1, 2], [3, 4]], and d(sum f(x))/dx.
template <class T, class F>
std::pair<Matrix<T>, Matrix<T>> value_and_grad(F f) {
  Matrix<T> x0(2, 2);
  x0 << 1, 2, 3, 4;
  Parameter<T> p(x0);
  Tape<T> t;
  auto y = f(t.parameter(p));
  t.backward(sum(y));
  return {y.value(), p.grad};
}
}  // namespace

TEMPLATE_TEST_CASE("scalars of any arithmetic type in every op and operator that takes one", "[surface]",
                   float, double) {
  using T = TestType;
  using Mt = Matrix<T>;
  Mt x(2, 2);
  x << 1, 2, 3, 4;
  const Mt ones = Mt::Ones(2, 2);
  struct Case {
    const char* what;
    std::pair<Mt, Mt> got;
    Mt value, grad;
  };
  const Case cases[] = {
      {"add(x, 1)", value_and_grad<T>([](Var<T> v) { return add(v, 1); }), (x.array() + 1).matrix(), ones},
      {"add(x, 1.5f)", value_and_grad<T>([](Var<T> v) { return add(v, 1.5f); }), (x.array() + 1.5).matrix(),
       ones},
      {"add(2L, x)", value_and_grad<T>([](Var<T> v) { return add(2L, v); }), (x.array() + 2).matrix(), ones},
      {"sub(x, 1.0)", value_and_grad<T>([](Var<T> v) { return sub(v, 1.0); }), (x.array() - 1).matrix(),
       ones},
      {"sub(x, 1u)", value_and_grad<T>([](Var<T> v) { return sub(v, 1u); }), (x.array() - 1).matrix(), ones},
      {"sub(10, x)", value_and_grad<T>([](Var<T> v) { return sub(10, v); }), (10 - x.array()).matrix(),
       -ones},
      {"mul(x, 2)", value_and_grad<T>([](Var<T> v) { return mul(v, 2); }), (2 * x.array()).matrix(),
       2 * ones},
      {"mul(3, x)", value_and_grad<T>([](Var<T> v) { return mul(3, v); }), (3 * x.array()).matrix(),
       3 * ones},
      {"div(x, 2.0)", value_and_grad<T>([](Var<T> v) { return div(v, 2.0); }), (x.array() / 2).matrix(),
       Mt::Constant(2, 2, T(0.5))},
      {"div(x, std::int64_t{4})", value_and_grad<T>([](Var<T> v) { return div(v, std::int64_t{4}); }),
       (x.array() / 4).matrix(), Mt::Constant(2, 2, T(0.25))},
      {"div(1, x)", value_and_grad<T>([](Var<T> v) { return div(1, v); }), x.array().inverse().matrix(),
       (-x.array().square().inverse()).matrix()},
      {"pow(x, 2)", value_and_grad<T>([](Var<T> v) { return pow(v, 2); }), x.array().square().matrix(),
       (2 * x.array()).matrix()},
      {"pow(x, 3.0f)", value_and_grad<T>([](Var<T> v) { return pow(v, 3.0f); }), x.array().cube().matrix(),
       (3 * x.array().square()).matrix()},
      {"x * 2", value_and_grad<T>([](Var<T> v) { return v * 2; }), (2 * x.array()).matrix(), 2 * ones},
      {"2 * x", value_and_grad<T>([](Var<T> v) { return 2 * v; }), (2 * x.array()).matrix(), 2 * ones},
      {"x * 0.5", value_and_grad<T>([](Var<T> v) { return v * 0.5; }), (x.array() / 2).matrix(),
       Mt::Constant(2, 2, T(0.5))},
      {"x + 1", value_and_grad<T>([](Var<T> v) { return v + 1; }), (x.array() + 1).matrix(), ones},
      {"1 + x", value_and_grad<T>([](Var<T> v) { return 1 + v; }), (x.array() + 1).matrix(), ones},
      {"x - 1u", value_and_grad<T>([](Var<T> v) { return v - 1u; }), (x.array() - 1).matrix(), ones},
      {"2 - x", value_and_grad<T>([](Var<T> v) { return 2 - v; }), (2 - x.array()).matrix(), -ones},
      {"x / 2", value_and_grad<T>([](Var<T> v) { return v / 2; }), (x.array() / 2).matrix(),
       Mt::Constant(2, 2, T(0.5))},
      {"12 / x", value_and_grad<T>([](Var<T> v) { return 12 / v; }), (12 * x.array().inverse()).matrix(),
       (-12 * x.array().square().inverse()).matrix()},
      {"(short)3 * x", value_and_grad<T>([](Var<T> v) { return static_cast<short>(3) * v; }),
       (3 * x.array()).matrix(), 3 * ones},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    CHECK(c.got.first.isApprox(c.value));
    CHECK(c.got.second.isApprox(c.grad));
  }
}

TEST_CASE("item() reads a 1x1 node and refuses any other shape", "[surface]") {
  Parameter<double> p(M::Constant(2, 3, 1.5));
  Tape<double> t;
  auto x = t.parameter(p);
  auto s = sum(x);
  CHECK(s.item() == 9.0);
  CHECK(t.scalar(2.5).item() == 2.5);
  CHECK_THROWS_AS(x.item(), ShapeError);
  CHECK_THROWS_WITH(x.item(), Catch::Contains("2x3") && Catch::Contains("not 1x1"));
  t.clear();
  CHECK_THROWS_AS(s.item(), TapeError);  // a handle from before the clear
}

TEST_CASE("std::cout << Var and << Parameter show the shape, the op and the value", "[surface]") {
  M m(2, 2);
  m << 1, 2, 3, 4;
  Parameter<double> p(m, "w");
  Tape<double> t;
  auto y = matmul(t.parameter(p), t.constant(M::Identity(2, 2)));
  std::ostringstream vs, ps, ss, us;
  vs << y;
  CHECK(vs.str() == "Var 2x2 matmul:\n  1 2\n  3 4");
  ps << p;
  CHECK(ps.str() == "Parameter \"w\" 2x2:\n  1 2\n  3 4");
  ss << sum(y) * 0.5;
  CHECK(ss.str() == "Var 1x1 mul_scalar:\n  5");
  Parameter<float> unnamed(Matrix<float>::Constant(1, 3, 0.25f));
  us << unnamed;
  CHECK(us.str() == "Parameter 1x3:\n  0.25 0.25 0.25");
  std::ostringstream empty;
  CHECK_THROWS_AS(empty << Var<double>(), TapeError);
}

TEST_CASE("Var::grad(): zero for a node the last root does not depend on, an error for one without gradient",
          "[surface][tape]") {
  Parameter<double> p(M::Constant(2, 2, 1.0)), q(M::Constant(2, 2, 2.0));
  for (bool optimize : {true, false}) {
    INFO("graph optimizer " << (optimize ? "on" : "off"));
    Tape<double> t;
    t.set_graph_optimization(optimize);
    auto x = t.parameter(p), y = t.parameter(q);
    auto a = square(x);  // a, la: x's branch
    auto b = exp(y);     // b, lb: y's branch
    auto la = sum(a), lb = sum(b);
    auto c = t.constant(M::Ones(2, 2));
    auto k = exp(c);  // computed from constants only

    // Before any backward: no gradient to read yet.
    CHECK_THROWS_WITH(a.grad(), Catch::Contains("no backward() has run"));

    t.backward(la);
    CHECK(a.grad() == M::Ones(2, 2));
    CHECK(b.grad() == M::Zero(2, 2));  // lb is not la: d(la)/db = 0, of b's shape
    CHECK(lb.grad() == M::Zero(1, 1));
    t.backward(lb);  // another root: a's gradient from the first sweep must not linger
    CHECK(a.grad() == M::Zero(2, 2));
    CHECK(b.grad() == M::Ones(2, 2));
    CHECK(la.grad() == M::Zero(1, 1));
    // A node recorded after the last backward's root is not part of it.
    auto later = square(b);
    CHECK(later.grad() == M::Zero(2, 2));
    // A parameter's node gives the parameter's accumulated gradient.
    CHECK(x.grad() == p.grad);
    CHECK(y.grad() == q.grad);

    // Constants and nodes made from constants only have no gradient: a clear error, not a 0x0 matrix.
    CHECK_THROWS_AS(c.grad(), TapeError);
    CHECK_THROWS_WITH(c.grad(), Catch::Contains("is a constant") && Catch::Contains("Parameter"));
    CHECK_THROWS_WITH(k.grad(), Catch::Contains("(exp) depends on no parameter"));
    p.zero_grad();
    q.zero_grad();
  }
}

TEST_CASE("Var::grad() after a backward from a root that needs no gradient or is a parameter is zero",
          "[surface][tape]") {
  Parameter<double> p(M::Constant(1, 2, 3.0));
  Tape<double> t;
  auto x = t.parameter(p);
  auto a = square(x);
  t.backward(sum(a));
  CHECK(a.grad() == M::Ones(1, 2));
  t.backward(sum(t.constant(M::Ones(1, 2))));  // nothing depends on a parameter: nothing to sweep
  CHECK(a.grad() == M::Zero(1, 2));
  t.backward(sum(a));
  t.backward(x, M::Ones(1, 2));  // from the parameter itself: only its gradient changes
  CHECK(a.grad() == M::Zero(1, 2));
  CHECK(p.grad == M::Constant(1, 2, 2 * 6.0 + 1.0));  // two sweeps of 2x, then the root gradient
}
