// The seed loss's training step, at the seed's 5x4 and at 64x32, 256x128, 1024x512, in float and double (one
// step = loss and gradient, then SGD(lr, momentum 0.9), as bench_svd.cpp's seed_step):
//
//   formula/handwritten/...         the floor: the gradient by hand (tests/support/seed_gradient.hpp) written
//                                   into the parameters' grad, then the same optim::Sgd step;
//   formula/literal_replay/...      svd::seed_loss, the notebook's formula as written (matmul, transpose,
//                                   diag, square, mean), recorded once, then
//                                   tape.forward(); opt.zero_grad(); tape.backward(loss); opt.step();
//   formula/literal_rerecord/...    the README's idiom: tape.clear(), record it, zero_grad, backward, step;
//   formula/unoptimized_replay/..., formula/unoptimized_rerecord/...: the same with the graph optimizer off
//                                   (Tape::set_graph_optimization(false)): the formula run as written;
//   formula/fused_replay/..., formula/fused_rerecord/...: the hand-fused graph (hand_fused_seed.hpp: the
//                                   fused ops called by name, as users had to write it before).
//
// FLOP/s counts the floor's FLOPs (seed_problem.hpp) for every variant: a variant doing more work shows a
// lower rate. bench/formula_bench.py runs it and prints the ratios to the floor.
#include <string>

#include "hand_fused_seed.hpp"
#include "harness.hpp"
#include "seed_gradient.hpp"
#include "seed_problem.hpp"
#include "tapegrad/optim.hpp"
#include "tapegrad/svd/loss.hpp"

using namespace tapegrad;
using tapegrad::bench::allocations;

namespace {

// Times `step` (one training step; the first one, which sizes every buffer, is outside the timing and the
// allocation count) with the seed loss's FLOPs as its rate.
template <class Step>
void time_steps(benchmark::State& state, Index m, Index n, Step step) {
  bench::time_steps(state, step);
  bench::report_flops(state, bench::seed_flops_forward(m, n) + bench::seed_flops_backward(m, n));
}

// The seed problem at m×n with its SGD and a tape (graph optimizer on or off).
template <class T>
struct SeedRun {
  SeedRun(Index m, Index n, bool optimize = true)
      : p(m, n), opt({&p.U, &p.d, &p.V}, {.lr = bench::seed_lr(m), .momentum = 0.9}) {
    tape.set_graph_optimization(optimize);
  }
  /// The step after the forward pass: opt.zero_grad(), tape.backward(loss), opt.step().
  void backward_and_step(const Var<T>& loss) {
    opt.zero_grad();
    tape.backward(loss);
    opt.step();
  }
  bench::SeedProblem<T> p;
  optim::Sgd<T> opt;
  Tape<T> tape;
};

template <class T>
void handwritten(benchmark::State& state, Index m, Index n) {
  SeedRun<T> r(m, n);
  test::SeedGradient<T> g;
  time_steps(state, m, n, [&] {
    // Overwrites the gradients: no zero_grad needed.
    benchmark::DoNotOptimize(g.loss_and_gradient(r.p.U.value, r.p.d.value, r.p.V.value, r.p.M, r.p.U.grad,
                                                 r.p.d.grad, r.p.V.grad));
    r.opt.step();
  });
}

// The graph recorded once, replayed each step.
template <class T, class Record>
void replay(benchmark::State& state, Index m, Index n, Record record, bool optimize = true) {
  SeedRun<T> r(m, n, optimize);
  const Var<T> loss = record(r.tape, r.p);
  time_steps(state, m, n, [&] {
    r.tape.forward();
    r.backward_and_step(loss);
  });
}

// The README's idiom: the graph recorded anew each step.
template <class T, class Record>
void rerecord(benchmark::State& state, Index m, Index n, Record record, bool optimize = true) {
  SeedRun<T> r(m, n, optimize);
  time_steps(state, m, n, [&] {
    r.tape.clear();
    r.backward_and_step(record(r.tape, r.p));
  });
}

template <class T>
Var<T> literal(Tape<T>& tape, bench::SeedProblem<T>& p) {
  return svd::seed_loss(tape, p.U, p.d, p.V, p.M);
}

template <class T>
Var<T> fused(Tape<T>& tape, bench::SeedProblem<T>& p) {
  return bench::hand_fused_seed_loss(tape, p.U, p.d, p.V, p.M);
}

// One pattern at a time, optimizer on and off: a replayed forward + backward of a small loss around it, with
// A, B 512x256 (B 256x256 where it is square), v 1x256. What each rewrite is worth (docs/graph-optimizer.md).
template <class T>
void pattern(benchmark::State& state, int which, bool optimize) {
  const Index m = 512, n = 256;
  Parameter<T> a(bench::uniform<T>(m, n, 11)), b(bench::uniform<T>(m, n, 12)),
      sq(bench::uniform<T>(n, n, 13)), v(bench::uniform<T>(1, n, 14));
  Tape<T> tape;
  tape.set_graph_optimization(optimize);
  auto A = tape.parameter(a);
  Var<T> loss;
  switch (which) {
    case 0:  // matmul(A, transpose(B)) -> matmul_nt
      loss = sum(matmul(A, transpose(tape.parameter(sq))));
      break;
    case 1:  // matmul(transpose(A), A) -> crossprod
      loss = sum(matmul(transpose(A), A));
      break;
    case 2:  // matmul(A, diag(v)) -> scale_columns
      loss = sum(matmul(A, diag(tape.parameter(v))));
      break;
    default:  // mean(square(A - B)) -> mse
      loss = mean(square(A - tape.parameter(b)));
      break;
  }
  tape.backward(loss);
  const auto before = allocations();
  for (auto _ : state) {
    tape.forward();
    tape.backward(loss);
    benchmark::ClobberMemory();
  }
  bench::report_allocations(state, before);
}

template <class T>
void register_all(const std::string& type) {
  const char* names[4] = {"matmul_nt", "crossprod", "scale_columns", "mse"};
  for (int which = 0; which < 4; ++which) {
    for (bool optimize : {true, false}) {
      const std::string name =
          std::string("pattern/") + names[which] + (optimize ? "/on/" : "/off/") + type + "/512x256";
      benchmark::RegisterBenchmark(name.c_str(), [which, optimize](benchmark::State& s) {
        pattern<T>(s, which, optimize);
      })->Unit(benchmark::kMicrosecond);
    }
  }
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
    add("unoptimized_replay",
        [](benchmark::State& s, Index m, Index n) { replay<T>(s, m, n, literal<T>, false); });
    add("unoptimized_rerecord",
        [](benchmark::State& s, Index m, Index n) { rerecord<T>(s, m, n, literal<T>, false); });
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
