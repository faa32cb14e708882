// The suite's harness: timing the backward pass of a loss graph with a hand-counted FLOP figure (users:
// tapegrad/bench.hpp's register_loss times forward, backward and both steps, FLOPs from the ops):
//
//   tapegrad::bench::register_backward("my_loss/64", [](tapegrad::Tape<double>& t) {
//     static tapegrad::Parameter<double> w(tapegrad::Matrix<double>::Random(64, 64));
//     return tapegrad::sum_squares(tapegrad::matmul(t.parameter(w), t.parameter(w)));
//   }, /*flops per backward=*/4.0 * 64 * 64 * 64);
#pragma once

#include <benchmark/benchmark.h>

#include <functional>
#include <string>

#include "tapegrad/autodiff.hpp"
#include "tapegrad/bench.hpp"  // allocations(), report_allocations(), report_flops()

namespace tapegrad::bench {

/// Times `step` (one training step, or whatever is measured) after `warmups` untimed calls that size every
/// buffer, and reports the allocations per step of the timed ones.
template <class Step>
void time_steps(benchmark::State& state, Step step, int warmups = 1) {
  for (int i = 0; i < warmups; ++i) step();
  const auto before = allocations();
  for (auto _ : state) {
    step();
    benchmark::ClobberMemory();
  }
  report_allocations(state, before);
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
