// tapegrad-svd's steady state allocates nothing (issue 5): the iterations of svd::solve, with what the CLI
// passes (a progress callback; the loss history, kept for --out), make no heap allocation after warm-up,
// apart from the loss history's amortised growth. This executable counts malloc calls
// (count_allocations.hpp).
#include <catch2/catch.hpp>

#include "count_allocations.hpp"
#include "seed_options.hpp"
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
  SECTION("auto recipe, L-BFGS (the default): 0 from iteration 100 to convergence") {
    // A top-10 of a 120x60 matrix takes several hundred iterations; the L-BFGS history (at most 50
    // pairs) is full by iteration 100.
    SvdOptions o;
    o.rank = 10;
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
