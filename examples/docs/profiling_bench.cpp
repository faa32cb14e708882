// docs/profiling.md, "Benchmarking a graph": Google Benchmark timings of the README's linear model with
// tapegrad/bench.hpp (link tapegrad::bench). Runs as any Google Benchmark binary:
//   example_docs_profiling_bench --benchmark_filter=step --benchmark_min_time=0.5
#include <tapegrad/bench.hpp>
#include <tapegrad/optim.hpp>
using namespace tapegrad;

int main(int argc, char** argv) {
  Matrix<double> X = Matrix<double>::Random(100, 3), Y = X * Matrix<double>::Ones(3, 1);
  Parameter<double> w(Matrix<double>::Zero(3, 1)), b(Matrix<double>::Zero(1, 1));
  optim::Adam<double> opt({&w, &b}, {.lr = 0.05});
  bench::register_loss<double>("linear",
                               [&](Tape<double>& t) {
                                 return mse(matmul(t.constant(X), t.parameter(w)) + t.parameter(b),
                                            t.constant(Y));
                               },
                               {.update = [&] {
                                 opt.step();
                                 opt.zero_grad();
                               }});
  return bench::run(argc, argv);  // linear/forward, /backward, /step_replay, /step_rerecord
}
