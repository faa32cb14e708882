// The SVD loss graph: backward pass alone, and whole training steps (forward + backward + optimizer
// step), at the seed's 5x4 and at 64x32, 256x128, 1024x512, in float and double.
#include <tuple>

#include "harness.hpp"
#include "seed_problem.hpp"
#include "tapegrad/optim.hpp"
#include "tapegrad/svd/loss.hpp"

using namespace tapegrad;
using tapegrad::bench::allocations;
using tapegrad::bench::seed_flops_backward;
using tapegrad::bench::seed_flops_forward;
using tapegrad::bench::SeedProblem;
using tapegrad::bench::uniform;

namespace {

template <class T>
void backward_only(benchmark::State& state, Index m, Index n) {
  SeedProblem<T> p(m, n);
  Tape<T> tape;
  auto loss = svd::seed_loss(tape, p.U, p.d, p.V, p.M);
  tape.backward(loss);
  const auto before = allocations();
  for (auto _ : state) {
    tape.backward(loss);
    benchmark::ClobberMemory();
  }
  bench::report_allocations(state, before);
  bench::report_flops(state, seed_flops_backward(m, n));
}

// Times training steps on a recorded graph: replay it, zero the gradients, backward, optimizer step.
// The first step (which sizes every buffer) is outside the timing and the allocation count.
template <class T>
void time_steps(benchmark::State& state, Tape<T>& tape, Var<T> loss, optim::Optimizer<T>& opt) {
  auto step = [&] {
    tape.forward();
    opt.zero_grad();
    tape.backward(loss);
    opt.step();
  };
  step();
  const auto before = allocations();
  for (auto _ : state) step();
  bench::report_allocations(state, before);
}

// One step of the seed recipe: replay the recorded graph, backward, SGD(lr, momentum 0.9).
template <class T>
void seed_step(benchmark::State& state, Index m, Index n) {
  SeedProblem<T> p(m, n);
  Tape<T> tape;
  auto loss = svd::seed_loss(tape, p.U, p.d, p.V, p.M);
  optim::Sgd<T> opt({&p.U, &p.d, &p.V}, {.lr = bench::seed_lr(m), .momentum = 0.9});
  time_steps(state, tape, loss, opt);
  bench::report_flops(state, seed_flops_forward(m, n) + seed_flops_backward(m, n));
}

// One step of the auto recipe's loss (½‖M − U diag(s) Vᵀ‖² + μ/4 (‖UᵀU − I‖² + ‖VᵀV − I‖²)) with SGD.
template <class T>
void auto_step(benchmark::State& state, Index m, Index n) {
  Matrix<T> M = uniform<T>(m, n, 1);
  Parameter<T> U(uniform<T>(m, n, 2)), s(uniform<T>(1, n, 3)), V(uniform<T>(n, n, 4));
  Tape<T> tape;
  auto loss = svd::auto_loss(tape, U, s, V, M, T(1));
  optim::Sgd<T> opt({&U, &s, &V}, {.lr = 1e-6, .momentum = 0.9});
  time_steps(state, tape, loss, opt);
  bench::report_flops(
      state, 2.0 * m * n * n + 2.0 * m * n * n + 2.0 * n * n * n + 6.0 * m * n * n + 4.0 * n * n * n);
}

// One evaluation (replay + backward) of the auto recipe's loss for the top k triplets of an m×n M, as
// written (auto_loss: the m×n residual) or expanded (auto_loss_expanded: two products with M, no m×n
// temporary); the solver uses the expanded form for k < min(m, n).
template <class T>
void topk_eval(benchmark::State& state, Index m, Index n, Index k, bool expanded) {
  Matrix<T> M = uniform<T>(m, n, 1);
  Parameter<T> U(uniform<T>(m, k, 2)), s(uniform<T>(1, k, 3)), V(uniform<T>(n, k, 4));
  Tape<T> tape;
  auto loss =
      expanded ? svd::auto_loss_expanded(tape, U, s, V, M, T(0.1)) : svd::auto_loss(tape, U, s, V, M, T(0.1));
  auto eval = [&] {
    tape.forward();
    for (auto* p : {&U, &s, &V}) p->zero_grad();
    tape.backward(loss);
  };
  eval();
  const auto before = allocations();
  for (auto _ : state) eval();
  bench::report_allocations(state, before);
  bench::report_flops(state, (expanded ? 4.0 : 6.0) * double(m) * double(n) * double(k));
}

template <class T>
void register_all(const char* type) {
  for (auto [m, n, k] : {std::tuple<Index, Index, Index>{1000, 500, 10}, {4000, 1000, 10}})
    for (bool expanded : {false, true}) {
      const std::string name = std::string("topk_eval/") + (expanded ? "expanded/" : "residual/") + type +
                               "/" + std::to_string(m) + "x" + std::to_string(n) + "k" + std::to_string(k);
      benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& st) {
        topk_eval<T>(st, m, n, k, expanded);
      })->Unit(benchmark::kMillisecond);
    }
  for (auto [m, n] : bench::kSeedSizes) {
    const std::string size = std::to_string(m) + "x" + std::to_string(n);
    benchmark::RegisterBenchmark(("svd_backward/" + std::string(type) + "/" + size).c_str(),
                                 [m = m, n = n](benchmark::State& s) { backward_only<T>(s, m, n); })
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("seed_step/" + std::string(type) + "/" + size).c_str(),
                                 [m = m, n = n](benchmark::State& s) { seed_step<T>(s, m, n); })
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("auto_step/" + std::string(type) + "/" + size).c_str(),
                                 [m = m, n = n](benchmark::State& s) { auto_step<T>(s, m, n); })
        ->Unit(benchmark::kMicrosecond);
  }
}

const int registered = [] {
  register_all<float>("f32");
  register_all<double>("f64");
  return 0;
}();

}  // namespace
