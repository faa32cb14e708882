// The profiler's cost, side by side in one run: the seed loss's step (tape.forward();
// tape.backward(loss), the graph recorded once, double) on a tape with no profiler (profiling off: the
// plain step) and on one with a profiler attached (on: every op timed and recorded), at 5x4, 64x32 and
// 1024x512; and a tape that had a profiler and was detached from it (off again).
//
//   profiler/<size>/off         no profiler
//   profiler/<size>/detached    set_profiler(&p), then set_profiler(nullptr): the same path as off
//   profiler/<size>/on          every op recorded (events cleared every 64k, outside the timing's mean)
//
// and, through tapegrad/bench.hpp's register_loss, the seed loss at 64x32 as a user would benchmark it
// (seed_64x32/forward, /backward, /step_replay, /step_rerecord, with FLOP/s from the ops' declared costs).
#include <string>

#include "seed_problem.hpp"
#include "tapegrad/bench.hpp"
#include "tapegrad/svd/loss.hpp"

using namespace tapegrad;

namespace {

enum class Mode { off, detached, on };

void seed_step(benchmark::State& state, Index m, Index n, Mode mode) {
  bench::SeedProblem<double> p(m, n);
  Tape<double> tape;
  Var<double> loss = svd::seed_loss(tape, p.U, p.d, p.V, p.M);
  Profiler prof;
  prof.reserve(1 << 16);
  if (mode != Mode::off) tape.set_profiler(&prof);
  if (mode == Mode::detached) tape.set_profiler(nullptr);
  tape.forward();
  tape.backward(loss);
  const auto flops = bench::seed_flops_forward(m, n) + bench::seed_flops_backward(m, n);
  const auto before = bench::allocations();
  for (auto _ : state) {
    tape.forward();
    tape.backward(loss);
    if (prof.events().size() + 64 > (1u << 16)) prof.clear();
    benchmark::ClobberMemory();
  }
  bench::report_allocations(state, before);
  bench::report_flops(state, flops);
}

const bool registered = [] {
  for (auto [m, n] : {std::pair<Index, Index>{5, 4}, {64, 32}, {1024, 512}}) {
    const std::string size = std::to_string(m) + "x" + std::to_string(n);
    for (auto [mode, name] : {std::pair{Mode::off, "off"}, {Mode::detached, "detached"}, {Mode::on, "on"}}) {
      benchmark::RegisterBenchmark(
          ("profiler/" + size + "/" + name).c_str(),
          [m = m, n = n, mode = mode](benchmark::State& s) { seed_step(s, m, n, mode); });
    }
  }
  static bench::SeedProblem<double> p(64, 32);
  bench::register_loss<double>("seed_64x32",
                               [](Tape<double>& t) { return svd::seed_loss(t, p.U, p.d, p.V, p.M); });
  return true;
}();

}  // namespace
