// L-BFGS: converges fast on ill-conditioned smooth problems, keeps its contract, saves exactly.
#include <catch2/catch.hpp>
#include <cmath>
#include <sstream>
#include <stdexcept>

#include "tapegrad/autodiff.hpp"
#include "tapegrad/optim.hpp"

using namespace tapegrad;
using M = Matrix<double>;

namespace {
// Rosenbrock in two variables, as a graph: (1 - x)² + 100 (y - x²)².
struct Rosenbrock {
  Parameter<double> x{M::Constant(1, 1, -1.2)}, y{M::Constant(1, 1, 1.0)};
  Tape<double> tape;
  double operator()() {
    tape.clear();
    auto X = tape.parameter(x), Y = tape.parameter(y);
    auto l = square(1.0 - X) + 100.0 * square(Y - square(X));
    x.zero_grad();
    y.zero_grad();
    tape.backward(l);
    return l.value()(0, 0);
  }
};
}  // namespace

TEST_CASE("L-BFGS minimises the Rosenbrock function", "[optim][lbfgs]") {
  Rosenbrock r;
  optim::Lbfgs<double> opt({&r.x, &r.y}, {.history_size = 10});
  double f = r();
  int it = 0;
  for (; it < 200 && std::max(std::abs(r.x.grad(0, 0)), std::abs(r.y.grad(0, 0))) > 1e-10; ++it) {
    const double before = f;
    f = opt.step([&] { return r(); }, f);
    REQUIRE(f <= before + 1e-12);  // monotone: Armijo line search
  }
  CHECK(it < 100);
  CHECK(r.x.value(0, 0) == Approx(1.0).epsilon(1e-8));
  CHECK(r.y.value(0, 0) == Approx(1.0).epsilon(1e-8));
  CHECK(opt.evaluations() >= it);
}

TEST_CASE("L-BFGS: a diagonal preconditioner is used, options are validated", "[optim][lbfgs]") {
  // f = ½ Σ w_i x_i² with weights spanning 1e6. With D = 1/w the first step is -γ D g = -γ x with
  // γ = 1/‖D g‖ = 1/2 (halfway: f/4), and the second, with γ = sᵀy / yᵀDy = 1, lands on the minimum.
  Parameter<double> p(M::Ones(4, 1));
  const M w = (M(4, 1) << 1, 1e2, 1e4, 1e6).finished();
  Tape<double> tape;
  auto eval = [&] {
    tape.clear();
    auto l = sum(mul(tape.constant(w), square(tape.parameter(p)))) * 0.5;
    p.zero_grad();
    tape.backward(l);
    return l.value()(0, 0);
  };
  optim::Lbfgs<double> opt({&p});
  opt.set_preconditioner([&](std::vector<M>& d) { d[0] = w.cwiseInverse(); });
  const double f0 = eval();
  double f = opt.step(eval, f0);
  CHECK(f == Approx(f0 / 4).epsilon(1e-14));
  f = opt.step(eval, f);
  CHECK(f <= 1e-20);
  CHECK_THROWS_AS(optim::Lbfgs<double>({&p}, {.lr = 0}), std::invalid_argument);
  CHECK_THROWS_AS(optim::Lbfgs<double>({&p}, {.history_size = 0}), std::invalid_argument);
  CHECK_THROWS_AS(opt.step(), std::logic_error);  // no closure given
}

TEST_CASE("L-BFGS: step() with set_closure takes the same steps as step(closure, loss)", "[optim][lbfgs]") {
  Rosenbrock a, b;
  optim::Lbfgs<double> explicit_loss({&a.x, &a.y}, {.history_size = 10});
  optim::Lbfgs<double> stored({&b.x, &b.y}, {.history_size = 10});
  stored.set_closure([&] { return b(); });
  CHECK(std::isnan(stored.loss()));
  double f = a();
  for (int it = 0; it < 30; ++it) {
    f = explicit_loss.step([&] { return a(); }, f);
    stored.step();
    REQUIRE(stored.loss() == f);  // bit for bit: the loss at the accepted point is not re-evaluated
    REQUIRE(b.x.value(0, 0) == a.x.value(0, 0));
    REQUIRE(b.y.value(0, 0) == a.y.value(0, 0));
  }
  // One evaluation more: the first step's loss at the starting point.
  CHECK(stored.evaluations() == explicit_loss.evaluations() + 1);
  // A caller's change of the point, or zero_grad(), makes the next step evaluate again (not take a step
  // from a stale or zeroed gradient).
  const long before = stored.evaluations();
  b.x.zero_grad();
  b.y.zero_grad();
  const double x_before = b.x.value(0, 0);
  stored.step();
  CHECK(stored.evaluations() >= before + 2);
  CHECK(b.x.value(0, 0) != x_before);
  b.x.value(0, 0) = -1.2;
  b.y.value(0, 0) = 1.0;
  stored.reset_state();
  for (int it = 0; it < 100 && stored.loss() > 1e-20; ++it) stored.step();
  CHECK(b.x.value(0, 0) == Approx(1.0).epsilon(1e-8));
}

TEST_CASE("L-BFGS: a line search that cannot decrease leaves the parameters", "[optim][lbfgs]") {
  Parameter<double> p(M::Constant(1, 1, 2.0));
  // A "loss" whose reported gradient points the wrong way: no step decreases it.
  auto eval = [&] {
    p.grad(0, 0) = -1.0;
    return p.value(0, 0);
  };
  optim::Lbfgs<double> opt({&p}, {.max_backtracks = 5});
  double f = eval();
  f = opt.step(eval, f);
  CHECK(opt.line_search_failed());
  CHECK(p.value(0, 0) == 2.0);
  CHECK(f == 2.0);
}

TEST_CASE("L-BFGS: save and load resume exactly", "[optim][lbfgs]") {
  Rosenbrock a, b;
  optim::Lbfgs<double> oa({&a.x, &a.y}), ob({&b.x, &b.y});
  double fa = a(), fb = b();
  for (int i = 0; i < 5; ++i) fa = oa.step([&] { return a(); }, fa);
  std::stringstream state;
  oa.save_state(state);
  b.x.value = a.x.value;
  b.y.value = a.y.value;
  fb = b();
  ob.load_state(state);
  for (int i = 0; i < 5; ++i) {
    fa = oa.step([&] { return a(); }, fa);
    fb = ob.step([&] { return b(); }, fb);
  }
  CHECK(a.x.value == b.x.value);
  CHECK(a.y.value == b.y.value);
}

TEST_CASE("L-BFGS: set_reduce routes every dot product through the reduce, in batches", "[optim][lbfgs]") {
  // One process: a reduce that only counts its calls. The run reaches the same minimum; each step makes
  // at least 2 calls per stored pair (the two-loop recursion) and 3 more (scaling, gᵀd, the pair test).
  // Data-parallel runs are tested under mpirun (tests/mpi: the row-partitioned SVD equals one process's).
  Rosenbrock r;
  optim::Lbfgs<double> opt({&r.x, &r.y}, {.history_size = 3});
  long calls = 0, values = 0;
  opt.set_reduce([&](double*, int n) { ++calls, values += n; });
  double f = r();
  long min_calls = 0;
  for (int it = 0; it < 200 && std::max(std::abs(r.x.grad(0, 0)), std::abs(r.y.grad(0, 0))) > 1e-10; ++it) {
    const long before = calls;
    f = opt.step([&] { return r(); }, f);
    CHECK(calls - before >= 3);
    min_calls += 3;
  }
  CHECK(r.x.value(0, 0) == Approx(1.0).epsilon(1e-8));
  CHECK(r.y.value(0, 0) == Approx(1.0).epsilon(1e-8));
  CHECK(calls > min_calls);  // the two-loop recursion's calls
  CHECK(values > calls);     // the scaling and the pair test are batched (2 and 3 values per call)
  CHECK_THROWS_AS(opt.set_reduce([](double*, int) {}, {1.0}), std::invalid_argument);
}

TEST_CASE("L-BFGS: a closure that throws in the line search leaves the parameters where the step began",
          "[optim][lbfgs]") {
  Rosenbrock r;
  optim::Lbfgs<double> opt({&r.x, &r.y});
  double f = r();
  f = opt.step([&] { return r(); }, f);  // one step, so that the history is not empty
  const double x0 = r.x.value(0, 0), y0 = r.y.value(0, 0);
  int calls = 0;
  auto failing = [&] {
    if (++calls == 1) throw std::runtime_error("the model could not be evaluated");
    return r();
  };
  CHECK_THROWS_WITH(opt.step(failing, f), "the model could not be evaluated");
  CHECK(calls == 1);
  CHECK(r.x.value(0, 0) == x0);  // not the trial point
  CHECK(r.y.value(0, 0) == y0);
  // The optimizer is still usable: the next step evaluates from the same point.
  f = r();
  const double next = opt.step([&] { return r(); }, f);
  CHECK(next <= f);
}
