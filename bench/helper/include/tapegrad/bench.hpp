// tapegrad::bench (the optional tapegrad::bench library, which links Google Benchmark): benchmark the forward
// and backward pass of any loss graph in a few lines.
//
//   #include <tapegrad/bench.hpp>
//   int main(int argc, char** argv) {
//     tapegrad::Parameter<double> w(tapegrad::Matrix<double>::Random(256, 256));
//     tapegrad::bench::register_loss<double>("my_loss", [&](tapegrad::Tape<double>& t) {
//       return tapegrad::sum_squares(tapegrad::matmul(t.parameter(w), t.parameter(w)));
//     });
//     return tapegrad::bench::run(argc, argv);  // Google Benchmark's flags, and --threads=N for OpenBLAS
//   }
//
// registers four benchmarks: my_loss/forward (tape.forward() on the recorded graph), my_loss/backward
// (tape.backward(loss) alone), my_loss/step_replay (forward + backward, the graph recorded once) and
// my_loss/step_rerecord (tape.clear(), record, backward: the README's idiom). Each reports FLOP/s, from the
// FLOPs the graph's ops declare (counted once by profiling one step: Profiler), and allocs/iter, the heap
// allocations per iteration (the library replaces malloc & co. on glibc, so Eigen's are counted too).
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>

#include "tapegrad/autodiff.hpp"

namespace tapegrad::bench {

/// Number of heap allocations since the program started (every malloc, calloc, realloc, aligned
/// allocation and operator new on glibc; operator new only elsewhere; 0 under AddressSanitizer).
std::uint64_t allocations();

/// Google Benchmark's main: its flags, plus --threads=N (default 1) for OpenBLAS's threads, so that timings
/// do not depend on how many cores the machine has. Returns the process's exit code.
int run(int argc, char** argv);

/// Sets the "allocs/iter" counter from a count taken before the timed loop.
inline void report_allocations(benchmark::State& state, std::uint64_t before) {
  state.counters["allocs/iter"] = benchmark::Counter(static_cast<double>(allocations() - before) /
                                                     static_cast<double>(state.iterations()));
}

/// The "FLOP/s" counter, from the FLOPs of one iteration.
inline void report_flops(benchmark::State& state, double flops) {
  if (flops > 0)
    state.counters["FLOP/s"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
}

/// The FLOPs of one forward and one backward pass of a graph, as its ops declare them.
struct GraphFlops {
  double forward = 0, backward = 0;
};

/// Profiles one replay of the graph `loss` was recorded in (forward(), backward(loss)) and sums the FLOPs of
/// its ops. Gradients accumulate into the parameters as backward() always does.
template <class T>
GraphFlops count_flops(Tape<T>& tape, Var<T> loss) {
  Profiler prof;
  Profiler* const old = tape.profiler();
  tape.set_profiler(&prof);
  tape.forward();
  tape.backward(loss);
  tape.set_profiler(old);
  GraphFlops f;
  for (const auto& e : prof.events()) (e.phase == ProfilePhase::forward ? f.forward : f.backward) += e.flops;
  return f;
}

/// What register_loss registers, and what runs after each step.
struct LossOptions {
  bool forward = true;        ///< NAME/forward: tape.forward() on the recorded graph
  bool backward = true;       ///< NAME/backward: tape.backward(loss) alone
  bool step_replay = true;    ///< NAME/step_replay: tape.forward(); tape.backward(loss); update()
  bool step_rerecord = true;  ///< NAME/step_rerecord: tape.clear(); record; tape.backward(loss); update()
  /// Run after each step's backward pass (in the timing): e.g. [&] { opt.step(); opt.zero_grad(); }.
  /// Without one, gradients accumulate, as backward() does.
  std::function<void()> update;
  /// Graph optimizer on (the default) or off (the formula as written).
  bool graph_optimization = true;
};

/// Registers the benchmarks of the loss `record` records on a tape (it must return a 1x1 node; it is
/// called once per benchmark, and every iteration of NAME/step_rerecord). The parameters it reads must
/// outlive the benchmarks' run.
template <class T>
void register_loss(const std::string& name, std::function<Var<T>(Tape<T>&)> record,
                   LossOptions options = {}) {
  auto bench = [record, options](benchmark::State& state, int which) {
    Tape<T> tape;
    tape.set_graph_optimization(options.graph_optimization);
    Var<T> loss = record(tape);
    const GraphFlops flops = count_flops(tape, loss);  // also sizes every buffer
    auto update = [&] {
      if (options.update) options.update();
    };
    std::uint64_t before = allocations();
    switch (which) {
      case 0:
        for (auto _ : state) {
          tape.forward();
          benchmark::ClobberMemory();
        }
        report_flops(state, flops.forward);
        break;
      case 1:
        for (auto _ : state) {
          tape.backward(loss);
          benchmark::ClobberMemory();
        }
        report_flops(state, flops.backward);
        break;
      case 2:
        for (auto _ : state) {
          tape.forward();
          tape.backward(loss);
          update();
          benchmark::ClobberMemory();
        }
        report_flops(state, flops.forward + flops.backward);
        break;
      default:
        tape.clear();  // one re-recorded step first: the plan is made for the recording that repeats
        loss = record(tape);
        tape.backward(loss);
        before = allocations();
        for (auto _ : state) {
          tape.clear();
          loss = record(tape);
          tape.backward(loss);
          update();
          benchmark::ClobberMemory();
        }
        report_flops(state, flops.forward + flops.backward);
        break;
    }
    report_allocations(state, before);
  };
  const std::pair<bool, const char*> kinds[4] = {{options.forward, "/forward"},
                                                 {options.backward, "/backward"},
                                                 {options.step_replay, "/step_replay"},
                                                 {options.step_rerecord, "/step_rerecord"}};
  for (int k = 0; k < 4; ++k) {
    if (!kinds[k].first) continue;
    benchmark::RegisterBenchmark((name + kinds[k].second).c_str(),
                                 [bench, k](benchmark::State& state) { bench(state, k); });
  }
}

}  // namespace tapegrad::bench
