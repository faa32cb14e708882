// tapegrad-svd's steady state allocates nothing: the iterations of svd::solve, with what the CLI
// passes (a progress callback; the loss history, kept for --out), make no heap allocation after warm-up,
// apart from the loss history's amortised growth. This executable counts malloc calls
// (count_allocations.hpp).
#include <catch2/catch.hpp>

#include "count_allocations.hpp"
#include "seed_options.hpp"
#include "tapegrad/svd/loss.hpp"
#include "tapegrad/svd/solver.hpp"
#include "test_data.hpp"

using namespace tapegrad;
using namespace tapegrad::svd;

namespace {

struct Window {
  long iterations = 0;   // iterations counted, from `from` to the last progress call
  long allocations = 0;  // allocations during them
  Status status = Status::NotConverged;
};

// Runs solve() with a progress call at every iteration and counts the allocations from iteration `from`
// to the last progress call (what follows it, the result's message and measurements, is not a step).
Window allocations_from(long from, const Matrix<double>& m, SvdOptions o) {
  Window w;
  o.record_loss = true;
  o.progress_every = 1;
  o.progress = [&w, from](const Progress& p) {
    if (p.iteration == from) {
      g_allocations = 0;
      g_counting = true;
    }
    if (p.iteration >= from) {
      w.iterations = p.iteration - from;
      w.allocations = g_allocations.load();
    }
  };
  const SvdResult r = solve(m, o);
  g_counting = false;
  w.status = r.status;
  return w;
}

using test::seed_options;

}  // namespace

TEST_CASE("tapegrad-svd's iterations make no heap allocation in steady state", "[svd][alloc]") {
  if (!TAPEGRAD_COUNT_ALLOCATIONS) {
    WARN("allocation counting is off in this build (sanitizer or non-glibc)");
    return;
  }
  // The counter works: one Eigen matrix is seen.
  g_allocations = 0;
  g_counting = true;
  { Matrix<double> probe(3, 3); }
  g_counting = false;
  REQUIRE(g_allocations.load() >= 1);

  SECTION("seed recipe, SGD (the default): 0 from iteration 1000 to 3000") {
    auto o = seed_options("seed/svd/M1/");
    o.iterations = 3000;
    const Window w = allocations_from(1000, test::read_csv("seed/svd/M1/M.csv"), o);
    CHECK(w.status == Status::Completed);
    CHECK(w.iterations == 2000);
    CHECK(w.allocations == 0);  // the loss history is reserved for the fixed iteration count
  }
  SECTION("seed recipe, Adam, float64") {
    auto o = seed_options("seed/svd/M2/");
    o.iterations = 3000;
    o.optimizer = OptimizerKind::Adam;
    o.dtype = Dtype::Float64;
    const Window w = allocations_from(1000, test::read_csv("seed/svd/M2/M.csv"), o);
    CHECK(w.iterations == 2000);
    CHECK(w.allocations == 0);
  }
  SECTION("auto recipe, top-k by the trust region (the default): 0 from iteration 3 to convergence") {
    SvdOptions o;
    o.rank = 10;
    const Window w = allocations_from(3, test::read_csv("svd/topk_120x60/M.csv"), o);
    CHECK(w.status == Status::Converged);
    CHECK(w.iterations >= 5);
    CHECK(w.allocations == 0);
  }
  SECTION("auto recipe, L-BFGS (a learning rate given): 0 from iteration 100 to convergence") {
    // A top-10 of a 120x60 matrix takes several hundred iterations; the L-BFGS history (at most 50
    // pairs) is full by iteration 100.
    SvdOptions o;
    o.rank = 10;
    o.lr = 1.0;  // L-BFGS's own default: the penalty loss with L-BFGS, not the trust region
    const Window w = allocations_from(100, test::read_csv("svd/topk_120x60/M.csv"), o);
    CHECK(w.status == Status::Converged);
    CHECK(w.iterations >= 300);
    CHECK(w.allocations == 0);  // fewer than 1024 iterations: within the loss history's first reserve
  }
  SECTION("auto recipe, Adam: only the loss history grows, from iteration 100 to 3000") {
    SvdOptions o;
    o.optimizer = OptimizerKind::Adam;
    o.iterations = 3000;
    const Window w = allocations_from(100, test::read_csv("seed/svd/M1/M.csv"), o);
    CHECK(w.iterations == 2900);
    // The history starts with room for 1024 losses and doubles: it grows at 1024 and at 2048.
    CHECK(w.allocations <= 2);
  }
}

TEMPLATE_TEST_CASE("the seed loss as written allocates nothing per step in either idiom", "[svd][alloc]",
                   float, double) {
  // svd::seed_loss is the formula as written (matmul, transpose, diag, square, mean); the graph optimizer
  // runs it as fused kernels. Recorded once and replayed, or cleared and re-recorded every step (the README's
  // idiom), a step makes no heap allocation after the first.
  using T = TestType;
  if (!TAPEGRAD_COUNT_ALLOCATIONS) {
    WARN("allocation counting is off in this build (sanitizer or non-glibc)");
    return;
  }
  for (auto [m, n] : {std::pair<Index, Index>{5, 4}, {40, 30}}) {
    CAPTURE(m, n);
    const Matrix<T> M = Matrix<T>::Random(m, n);
    Parameter<T> u(Matrix<T>::Random(m, n)), d(Matrix<T>::Random(1, n)), v(Matrix<T>::Random(n, n));
    for (bool rerecord : {false, true}) {
      CAPTURE(rerecord);
      Tape<T> tape;
      Var<T> loss = seed_loss(tape, u, d, v, M);
      auto step = [&] {
        if (rerecord) {
          tape.clear();
          loss = seed_loss(tape, u, d, v, M);
        } else {
          tape.forward();
        }
        u.zero_grad(), d.zero_grad(), v.zero_grad();
        tape.backward(loss);
        (void)loss.value();
        u.value -= T(1e-3) * u.grad;
      };
      step();
      step();
      g_allocations = 0;
      g_counting = true;
      for (int k = 0; k < 5; ++k) step();
      g_counting = false;
      CHECK(g_allocations.load() == 0);
      int left_out = 0;  // the rewrites did happen: the transposes, the diag, the subs and squares do not run
      for (std::uint32_t i = 0; i < tape.size(); ++i) left_out += tape.runs(i) ? 0 : 1;
      CHECK(left_out == 10);
    }
  }
}

TEMPLATE_TEST_CASE("the auto loss in both forms allocates nothing per replay", "[svd][alloc]", float,
                   double) {
  // auto_loss (the residual form) and auto_loss_expanded (top-k, no m×n temporary), recorded once and
  // replayed, or re-recorded every step: no heap allocation after the first step.
  using T = TestType;
  if (!TAPEGRAD_COUNT_ALLOCATIONS) {
    WARN("allocation counting is off in this build (sanitizer or non-glibc)");
    return;
  }
  const Index m = 50, n = 30, k = 4;
  const Matrix<T> M = Matrix<T>::Random(m, n);
  Parameter<T> u(Matrix<T>::Random(m, k)), s(Matrix<T>::Random(1, k)), v(Matrix<T>::Random(n, k));
  for (bool expanded : {false, true})
    for (bool rerecord : {false, true}) {
      CAPTURE(expanded, rerecord);
      Tape<T> tape;
      auto record = [&] {
        return expanded ? auto_loss_expanded(tape, u, s, v, M, T(0.1)) : auto_loss(tape, u, s, v, M, T(0.1));
      };
      Var<T> loss = record();
      auto step = [&] {
        if (rerecord) {
          tape.clear();
          loss = record();
        } else {
          tape.forward();
        }
        u.zero_grad(), s.zero_grad(), v.zero_grad();
        tape.backward(loss);
        u.value -= T(1e-3) * u.grad;
      };
      step();
      step();
      g_allocations = 0;
      g_counting = true;
      for (int i = 0; i < 5; ++i) step();
      g_counting = false;
      CHECK(g_allocations.load() == 0);
    }
}
