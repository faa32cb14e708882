// The graph optimizer's plan around what the user does (src/graph_optimizer.cpp): a node the user reads keeps
// its meaning (its value and gradient as written, also when the plan left it out), re-recording reuses the
// plan, the optimizer switched off and on, anomaly detection, and edge cases of reading around rewrites.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <string>
#include <tuple>

#include "graph_optimizer_check.hpp"
#include "tapegrad/autodiff.hpp"

using namespace tapegrad;
using namespace tapegrad::test;

TEST_CASE("a node the user reads keeps its meaning", "[optimizer]") {
  using M = Matrix<double>;
  const M a0 = random_matrix<double>(5, 3, 3), m0 = random_matrix<double>(5, 3, 4);
  // mean(square(A - M)): the sub and the square are read around.
  auto record = [&](Tape<double>& t, Parameter<double>& p) {
    auto d = t.parameter(p) - t.constant(m0);
    auto s = square(d);
    return std::tuple{d, s, mean(s)};
  };
  Parameter<double> ref_p(a0);
  Tape<double> ref;
  ref.set_graph_optimization(false);
  auto [rd, rs, rl] = record(ref, ref_p);
  ref.backward(rl);

  SECTION("value() and grad() of nodes the plan left out, after backward") {
    Parameter<double> p(a0);
    Tape<double> t;
    auto [d, s, l] = record(t, p);
    t.backward(l);
    CHECK(!t.runs(d.index()));
    CHECK(!t.runs(s.index()));
    CHECK(rel_diff(p.grad, ref_p.grad) <= 1e-14);
    CHECK(rel_diff(s.value(), rs.value()) == 0);
    CHECK(rel_diff(d.value(), rd.value()) == 0);
    CHECK(rel_diff(s.grad(), rs.grad()) <= 1e-14);
    CHECK(rel_diff(d.grad(), rd.grad()) <= 1e-14);
    CHECK(rel_diff(p.grad, ref_p.grad) <= 1e-14);  // the parameters' gradients are not counted twice
    // Once read, the nodes are kept: replays compute them.
    CHECK(t.runs(d.index()));
    CHECK(t.runs(s.index()));
    p.value *= 2;
    t.forward();
    CHECK(rel_diff(s.value(), M((2 * a0 - m0).array().square())) <= 1e-14);
  }
  SECTION("a node read before the rest is recorded is not read around") {
    Parameter<double> p(a0);
    Tape<double> t;
    auto d = t.parameter(p) - t.constant(m0);
    const M& dv = d.value();
    auto l = mean(square(d));
    t.backward(l);
    CHECK(t.runs(d.index()));
    CHECK(rel_diff(dv, rd.value()) == 0);
    CHECK(rel_diff(d.grad(), rd.grad()) <= 1e-14);
    CHECK(rel_diff(p.grad, ref_p.grad) <= 1e-14);
  }
  SECTION("a second root inside a fused pattern") {
    Parameter<double> p(a0);
    Tape<double> t;
    auto [d, s, l] = record(t, p);
    t.backward(l);
    p.zero_grad();
    t.backward(s, M::Ones(5, 3));  // d(sum of the squares)/dA = 2 (A - M)
    CHECK(rel_diff(p.grad, M(2 * (a0 - m0))) <= 1e-14);
  }
}

TEST_CASE("re-recording the same graph reuses the plan and gives the same results", "[optimizer]") {
  using M = Matrix<double>;
  Parameter<double> u(random_matrix<double>(6, 3, 5)), v(random_matrix<double>(3, 3, 6));
  const M m = random_matrix<double>(6, 3, 7);
  auto loss = [&](Tape<double>& t) {
    return mean(square(matmul(t.parameter(u), transpose(t.parameter(v))) - t.constant(m)));
  };
  Tape<double> plain, fused;
  plain.set_graph_optimization(false);
  for (int step = 0; step < 4; ++step) {
    CAPTURE(step);
    u.zero_grad(), v.zero_grad();
    plain.clear();
    plain.backward(loss(plain));
    const M gu = u.grad, gv = v.grad;
    u.zero_grad(), v.zero_grad();
    fused.clear();
    auto l = loss(fused);
    fused.backward(l);
    CHECK(std::string(fused.run_op_name(l.index())) == "mse");
    CHECK(rel_diff(u.grad, gu) <= 1e-14);
    CHECK(rel_diff(v.grad, gv) <= 1e-14);
    // A different graph every other step: the plan follows.
    if (step % 2 == 1) {
      fused.clear();
      auto other = sum(square(fused.parameter(u) - fused.constant(m)));
      fused.backward(other);
      CHECK(std::string(fused.run_op_name(other.index())) == "sum_squared_difference");
    }
    u.value *= 0.9;
  }
}

TEST_CASE("the optimizer can be switched off and on, and anomaly detection runs ops as written",
          "[optimizer]") {
  using M = Matrix<double>;
  Parameter<double> p(random_matrix<double>(4, 4, 8));
  Tape<double> t;
  auto P = t.parameter(p);
  auto l1 = sum(matmul(transpose(P), P));
  CHECK(std::string(t.run_op_name(l1.index() - 1)) == "crossprod");
  t.set_graph_optimization(false);  // computes what was recorded, as written
  CHECK(std::string(t.run_op_name(l1.index() - 1)) == "matmul");
  CHECK(t.runs(l1.index() - 2));
  CHECK(t.is_computed(l1.index() - 2));
  auto l2 = sum(matmul(transpose(P), P));
  CHECK(t.is_computed(l2.index()));  // off: ops run when recorded
  CHECK(l1.value()(0, 0) == Approx(l2.value()(0, 0)).epsilon(1e-14));
  t.set_graph_optimization(true);
  t.backward(l2);
  CHECK(rel_diff(p.grad, M(p.value * M::Ones(4, 4) + p.value * M::Ones(4, 4))) <= 1e-13);

  Tape<double> a;
  a.set_anomaly_detection(true);
  auto x = a.parameter(p);
  auto y = matmul(transpose(x), x);
  CHECK(a.is_computed(y.index()));
  CHECK(std::string(a.run_op_name(y.index())) == "matmul");
}

TEST_CASE("edge cases of reading around rewrites (review findings)", "[optimizer]") {
  using M = Matrix<double>;
  SECTION("an op parameter of -0.0 is not the same as 0.0 (the plan is not reused)") {
    Parameter<double> w(M::Constant(1, 1, 2.0));
    Tape<double> t;
    for (double s : {0.0, -0.0, 0.0}) {
      t.clear();
      auto y = 1.0 / (t.parameter(w) * s);
      CHECK(y.value()(0, 0) == (std::signbit(s) ? -1.0 : 1.0) * std::numeric_limits<double>::infinity());
    }
  }
  SECTION("an exception while recomputing a gradient leaves the parameters' gradients in place") {
    Parameter<double> w(M{{0, 1}, {2, 3}});
    Tape<double> t;
    auto W = t.parameter(w);
    auto x = transpose(W);
    auto l = sum(sqrt(matmul(x, t.constant(M::Identity(2, 2)))));  // matmul_tn; sqrt'(0) is infinite
    t.backward(l);
    t.set_anomaly_detection(true);
    CHECK_THROWS_AS(x.grad(), NonFiniteError);
    t.set_anomaly_detection(false);
    w.zero_grad();
    t.backward(sum(W));
    CHECK(w.grad == M::Ones(2, 2));
  }
  SECTION("the gradient of a read-around node the last root does not depend on is zero, of its shape") {
    Parameter<double> w(M::Random(3, 2)), v(M::Random(2, 2));
    Tape<double> t;
    auto x = transpose(t.parameter(w));
    auto l1 = sum(matmul(t.constant(M::Ones(4, 2)), x));  // matmul_nt: x is read around
    auto l2 = sum(t.parameter(v));
    t.backward(l1);
    t.backward(l2);
    CHECK(x.grad() == M::Zero(2, 3));
    t.backward(l1);
    CHECK(x.grad() == M::Constant(2, 3, 4.0));  // d(sum(C xᵀ... ))/dx with C of ones: 4 everywhere
  }
}
