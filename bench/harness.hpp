// A harness for timing the backward pass of any loss graph, with the counters every tapegrad
// benchmark reports. Users register their own graphs the same way bench_svd.cpp does:
//
//   tapegrad::bench::register_backward("my_loss/64", [](tapegrad::Tape<double>& t) {
//     static tapegrad::Parameter<double> w(tapegrad::Matrix<double>::Random(64, 64));
//     return tapegrad::sum_squares(tapegrad::matmul(t.parameter(w), t.parameter(w)));
//   }, /*flops per backward=*/4.0 * 64 * 64 * 64);
#pragma once

#include <benchmark/benchmark.h>

#include <functional>
#include <string>

#include "alloc_counter.hpp"
#include "tapegrad/autodiff.hpp"

namespace tapegrad::bench {

/// Sets the "allocs/iter" counter from a count taken before the timed loop.
inline void report_allocations(benchmark::State& state, std::uint64_t before) {
  state.counters["allocs/iter"] = benchmark::Counter(static_cast<double>(allocations() - before) /
                                                     static_cast<double>(state.iterations()));
}

/// FLOP/s counter (flops per iteration).
inline void report_flops(benchmark::State& state, double flops) {
  if (flops > 0)
    state.counters["FLOP/s"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
}

/// Registers a benchmark of `tape.backward(loss)` alone for the graph `build` records (once).
template <class T>
void register_backward(const std::string& name, std::function<Var<T>(Tape<T>&)> build, double flops = 0) {
  benchmark::RegisterBenchmark(name.c_str(), [build, flops](benchmark::State& state) {
    Tape<T> tape;
    Var<T> loss = build(tape);
    tape.backward(loss);  // warm-up: sizes every gradient buffer
    const auto before = allocations();
    for (auto _ : state) {
      tape.backward(loss);
      benchmark::ClobberMemory();
    }
    report_allocations(state, before);
    report_flops(state, flops);
  });
}

}  // namespace tapegrad::bench
