// The seed loss's training step three ways, at the seed's 5x4 and at 64x32, 256x128, 1024x512, in float and
// double (one step = loss and gradient, then SGD(lr, momentum 0.9), as bench_svd.cpp's seed_step):
//
//   formula/handwritten/...       the floor: the gradient by hand (tests/support/seed_gradient.hpp) written
//                                 into the parameters' grad, then the same optim::Sgd step;
//   formula/literal_replay/...    the notebook's formula verbatim (literal_seed.hpp) recorded once, then
//                                 tape.forward(); opt.zero_grad(); tape.backward(loss); opt.step();
//   formula/literal_rerecord/...  the README's idiom: tape.clear(), record the literal formula, zero_grad,
//                                 backward, step;
//   formula/fused_replay/..., formula/fused_rerecord/...: the same with svd::seed_loss (the hand-fused
//   graph).
//
// FLOP/s counts the floor's FLOPs (seed_problem.hpp) for every variant: a variant doing more work shows a
// lower rate. bench/formula_bench.py runs it and prints the ratios to the floor.
#include <string>

#include "harness.hpp"
#include "literal_seed.hpp"
#include "seed_gradient.hpp"
#include "seed_problem.hpp"
#include "tapegrad/optim.hpp"
#include "tapegrad/svd/loss.hpp"

using namespace tapegrad;
using tapegrad::bench::allocations;

namespace {

// Times `step` (one training step); the first one, which sizes every buffer, is outside the timing and the
// allocation count.
template <class Step>
void time_steps(benchmark::State& state, Index m, Index n, Step step) {
  step();
  const auto before = allocations();
  for (auto _ : state) {
    step();
    benchmark::ClobberMemory();
  }
  bench::report_allocations(state, before);
  bench::report_flops(state, bench::seed_flops_forward(m, n) + bench::seed_flops_backward(m, n));
}

template <class T>
optim::Sgd<T> seed_sgd(bench::SeedProblem<T>& p, Index m) {
  return optim::Sgd<T>({&p.U, &p.d, &p.V}, {.lr = bench::seed_lr(m), .momentum = 0.9});
}

template <class T>
void handwritten(benchmark::State& state, Index m, Index n) {
  bench::SeedProblem<T> p(m, n);
  auto opt = seed_sgd(p, m);
  test::SeedGradient<T> g;
  time_steps(state, m, n, [&] {
    // Overwrites the gradients: no zero_grad needed.
    benchmark::DoNotOptimize(
        g.loss_and_gradient(p.U.value, p.d.value, p.V.value, p.M, p.U.grad, p.d.grad, p.V.grad));
    opt.step();
  });
}

// The graph recorded once, replayed each step.
template <class T, class Record>
void replay(benchmark::State& state, Index m, Index n, Record record) {
  bench::SeedProblem<T> p(m, n);
  auto opt = seed_sgd(p, m);
  const Matrix<T> eye = Matrix<T>::Identity(n, n);
  Tape<T> tape;
  Var<T> loss = record(tape, p, eye);
  time_steps(state, m, n, [&] {
    tape.forward();
    opt.zero_grad();
    tape.backward(loss);
    opt.step();
  });
}

// The README's idiom: the graph recorded anew each step.
template <class T, class Record>
void rerecord(benchmark::State& state, Index m, Index n, Record record) {
  bench::SeedProblem<T> p(m, n);
  auto opt = seed_sgd(p, m);
  const Matrix<T> eye = Matrix<T>::Identity(n, n);
  Tape<T> tape;
  time_steps(state, m, n, [&] {
    tape.clear();
    Var<T> loss = record(tape, p, eye);
    opt.zero_grad();
    tape.backward(loss);
    opt.step();
  });
}

template <class T>
Var<T> literal(Tape<T>& tape, bench::SeedProblem<T>& p, const Matrix<T>& eye) {
  return bench::literal_seed_loss(tape, p.U, p.d, p.V, p.M, eye);
}

template <class T>
Var<T> fused(Tape<T>& tape, bench::SeedProblem<T>& p, const Matrix<T>&) {
  return svd::seed_loss(tape, p.U, p.d, p.V, p.M);
}

template <class T>
void register_all(const std::string& type) {
  for (auto [m, n] : bench::kSeedSizes) {
    const std::string suffix = "/" + type + "/" + std::to_string(m) + "x" + std::to_string(n);
    auto add = [&](const std::string& variant, void (*fn)(benchmark::State&, Index, Index)) {
      benchmark::RegisterBenchmark(("formula/" + variant + suffix).c_str(), [fn, m = m,
                                                                             n = n](benchmark::State& s) {
        fn(s, m, n);
      })->Unit(benchmark::kMicrosecond);
    };
    add("handwritten", [](benchmark::State& s, Index m, Index n) { handwritten<T>(s, m, n); });
    add("literal_replay", [](benchmark::State& s, Index m, Index n) { replay<T>(s, m, n, literal<T>); });
    add("literal_rerecord", [](benchmark::State& s, Index m, Index n) { rerecord<T>(s, m, n, literal<T>); });
    add("fused_replay", [](benchmark::State& s, Index m, Index n) { replay<T>(s, m, n, fused<T>); });
    add("fused_rerecord", [](benchmark::State& s, Index m, Index n) { rerecord<T>(s, m, n, fused<T>); });
  }
}

const int registered = [] {
  register_all<float>("f32");
  register_all<double>("f64");
  return 0;
}();

}  // namespace
