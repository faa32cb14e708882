// Hessian-vector products of the seed loss against its gradient, at the seed's 5x4 and at 64x32,
// 256x128, 1024x512, in float and double; svd::seed_loss as written, run by the graph optimizer's fused plan:
//
//   hvp/gradient/...     the gradient: tape.forward(); tape.backward(loss) (recorded once, replayed);
//   hvp/first/...        one HVP at a new point (HvpTape::hvp after the parameters changed): the forward and
//                        backward passes, then the tangent and tangent backward passes;
//   hvp/same_point/...   a further HVP at the same point (what conjugate gradients does): the tangent passes.
//
// The target: hvp/first ≤ 3 × hvp/gradient. allocs/iter must be 0.
#include <string>

#include "harness.hpp"
#include "seed_problem.hpp"
#include "tapegrad/svd/loss.hpp"

using namespace tapegrad;
using tapegrad::bench::allocations;

namespace {

// Two untimed steps size every buffer (the HVP tape's tangents too).
template <class Step>
void time_steps(benchmark::State& state, Step step) {
  bench::time_steps(state, step, 2);
}

template <class T>
void gradient(benchmark::State& state, Index m, Index n) {
  bench::SeedProblem<T> p(m, n);
  Tape<T> tape;
  Var<T> loss = svd::seed_loss(tape, p.U, p.d, p.V, p.M);
  time_steps(state, [&] {
    tape.forward();
    tape.backward(loss);
  });
}

template <class T>
void hvp(benchmark::State& state, Index m, Index n, bool new_point) {
  bench::SeedProblem<T> p(m, n);
  HvpTape<T> h([&](Tape<T>& t) { return svd::seed_loss(t, p.U, p.d, p.V, p.M); }, {&p.U, &p.d, &p.V});
  const std::vector<Matrix<T>> v = {bench::uniform<T>(m, n, 5), bench::uniform<T>(1, n, 6),
                                    bench::uniform<T>(n, n, 7)};
  T sign = T(1);
  time_steps(state, [&] {
    if (new_point) {  // a step of the parameters: the next HVP recomputes the loss and the gradient
      p.d.value(0, 0) += sign * T(1e-3);
      sign = -sign;
    }
    benchmark::DoNotOptimize(h.hvp(v)[0].data());
  });
}

const int registered = [] {
  auto add_type = [](auto zero, const std::string& type) {
    using T = decltype(zero);
    for (auto [m, n] : bench::kSeedSizes) {
      const std::string suffix = "/" + type + "/" + std::to_string(m) + "x" + std::to_string(n);
      benchmark::RegisterBenchmark(("hvp/gradient" + suffix).c_str(), [m = m, n = n](benchmark::State& s) {
        gradient<T>(s, m, n);
      })->Unit(benchmark::kMicrosecond);
      benchmark::RegisterBenchmark(("hvp/first" + suffix).c_str(), [m = m, n = n](benchmark::State& s) {
        hvp<T>(s, m, n, true);
      })->Unit(benchmark::kMicrosecond);
      benchmark::RegisterBenchmark(("hvp/same_point" + suffix).c_str(), [m = m, n = n](benchmark::State& s) {
        hvp<T>(s, m, n, false);
      })->Unit(benchmark::kMicrosecond);
    }
  };
  add_type(float{}, "f32");
  add_type(double{}, "f64");
  return 0;
}();

}  // namespace
