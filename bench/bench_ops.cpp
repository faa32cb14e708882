// Per-op forward and backward micro-benchmarks, and the tape's overhead per recorded 1x1 node.
#include "harness.hpp"

using namespace tapegrad;
using tapegrad::bench::allocations;

namespace {

// Records the chain x -> x * c -> ... (n nodes of 1x1) and backpropagates: time per node.
void tape_overhead(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  Parameter<double> x(Matrix<double>::Constant(1, 1, 1.0));
  Tape<double> tape;
  auto run = [&] {
    tape.clear();
    auto v = tape.parameter(x);
    for (int i = 0; i < n; ++i) v = v * 1.0000001;
    tape.backward(v);
  };
  run();
  const auto before = allocations();
  for (auto _ : state) run();
  bench::report_allocations(state, before);
  // Seconds per node (Google Benchmark prints it with a unit prefix, e.g. 30n = 30 ns).
  state.counters["s/node"] =
      benchmark::Counter(static_cast<double>(n) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(tape_overhead)->Arg(1000)->Arg(100000);

// op(A) forward (record) and backward at n×n, for a few representative ops.
template <class F>
void op_bench(benchmark::State& state, F op, double flops_per_n3) {
  const Index n = state.range(0);
  Parameter<double> a(Matrix<double>::Random(n, n)), b(Matrix<double>::Random(n, n));
  Tape<double> tape;
  auto run = [&] {
    tape.clear();
    auto y = op(tape.parameter(a), tape.parameter(b));
    tape.backward(sum(y));
  };
  run();
  const auto before = allocations();
  for (auto _ : state) run();
  bench::report_allocations(state, before);
  bench::report_flops(state, flops_per_n3 * double(n) * double(n) * double(n));
}

void matmul_fb(benchmark::State& s) {
  op_bench(
      s, [](Var<double> a, Var<double> b) { return matmul(a, b); }, 6.0);
}
void gram_fb(benchmark::State& s) {
  op_bench(
      s, [](Var<double> a, Var<double>) { return gram(a); }, 3.0);
}
void gram_as_matmul_fb(benchmark::State& s) {
  op_bench(
      s, [](Var<double> a, Var<double>) { return matmul(transpose(a), a); }, 6.0);
}
void mse_fb(benchmark::State& s) {
  op_bench(
      s, [](Var<double> a, Var<double> b) { return mse(a, b); }, 0);
}
void mse_composite_fb(benchmark::State& s) {
  op_bench(
      s, [](Var<double> a, Var<double> b) { return mean(square(a - b)); }, 0);
}
void tanh_fb(benchmark::State& s) {
  op_bench(
      s, [](Var<double> a, Var<double>) { return tanh(a); }, 0);
}
void add_bias_fb(benchmark::State& s) {
  op_bench(
      s, [](Var<double> a, Var<double> b) { return a + colwise_sum(b); }, 0);
}
BENCHMARK(matmul_fb)->Arg(4)->Arg(64)->Arg(256);
BENCHMARK(gram_fb)->Arg(4)->Arg(64)->Arg(256);
BENCHMARK(gram_as_matmul_fb)->Arg(4)->Arg(64)->Arg(256);
BENCHMARK(mse_fb)->Arg(4)->Arg(256);
BENCHMARK(mse_composite_fb)->Arg(4)->Arg(256);
BENCHMARK(tanh_fb)->Arg(4)->Arg(256);
BENCHMARK(add_bias_fb)->Arg(4)->Arg(256);

}  // namespace
