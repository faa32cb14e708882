// docs/profiling.md: where a training step spends its time, for the README's linear model and a two-layer
// MLP (bench/bench_models.cpp's: batch 256, 32 -> 64 -> 1, tanh). Usage: example_docs_profiling [TRACE.json]
#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>
#include <tapegrad/autodiff.hpp>
#include <tapegrad/optim.hpp>
using namespace tapegrad;

int main(int argc, char** argv) {
  // The README's linear model, profiled: attach a Profiler to the tape, time each step with prof.step().
  Matrix<double> X = Matrix<double>::Random(100, 3), Y = X * Matrix<double>::Ones(3, 1);
  Parameter<double> w(Matrix<double>::Zero(3, 1)), b(Matrix<double>::Zero(1, 1));
  optim::Adam<double> opt({&w, &b}, {.lr = 0.05});
  Tape<double> tape;
  Profiler prof;
  tape.set_profiler(&prof);
  for (int step = 0; step < 1000; ++step) {
    auto timed = prof.step();  // the step's wall time: the table gives each op's share of it
    tape.clear();
    auto pred = matmul(tape.constant(X), tape.parameter(w)) + tape.parameter(b);
    auto loss = mse(pred, tape.constant(Y));
    opt.zero_grad();
    tape.backward(loss);
    opt.step();
  }
  std::cout << "linear model, 1000 steps\n" << prof.table();

  // The MLP: tanh(X W1 + b1) W2 + b2, mse. The graph optimizer runs tanh(... + b1) as one add_tanh.
  const Index batch = 256, features = 32, hidden = 64;
  const Matrix<float> x = Matrix<float>::Random(batch, features);
  const Matrix<float> y = (x.rowwise().sum() / std::sqrt(float(features))).array().sin().matrix();
  Parameter<float> w1(Matrix<float>::Random(features, hidden) / std::sqrt(float(features))),
      b1(Matrix<float>::Zero(1, hidden)), w2(Matrix<float>::Random(hidden, 1) / std::sqrt(float(hidden))),
      b2(Matrix<float>::Zero(1, 1));
  optim::Sgd<float> sgd({&w1, &b1, &w2, &b2}, {.lr = 0.01, .momentum = 0.9});
  Tape<float> net;
  auto h = tanh(matmul(net.constant(x), net.parameter(w1)) + net.parameter(b1));
  auto pred = matmul(h, net.parameter(w2)) + net.parameter(b2);
  auto loss = mse(pred, net.constant(y));
  net.backward(loss);  // the first step sizes every buffer: profile the ones after it
  Profiler mlp;
  net.set_profiler(&mlp);
  for (int step = 0; step < 200; ++step) {  // recorded once, replayed
    auto timed = mlp.step();
    net.forward();
    sgd.zero_grad();
    net.backward(loss);
    sgd.step();
  }
  std::cout << "\nMLP 256x32 -> 64 -> 1, 200 steps\n" << mlp.table();
  if (argc > 1) mlp.write_chrome_trace(argv[1]);  // open in chrome://tracing or ui.perfetto.dev

  // What the table says, checked: the ops that ran, and their FLOPs (matmul 256x32 by 32x64: 2·256·64·32).
  double matmul_flops = 0;
  for (const auto& s : mlp.summary()) {
    if (s.op == "matmul") matmul_flops = s.flops_forward / 200;
  }
  const bool fused = mlp.table().find("add_tanh = tanh(a + b)") != std::string::npos;
  std::printf("\nforward matmul FLOPs per step: %.0f (expected %.0f); tanh(a + b) fused: %s\n", matmul_flops,
              2.0 * 256 * 64 * 32 + 2.0 * 256 * 1 * 64, fused ? "yes" : "no");
  return matmul_flops == 2.0 * 256 * 64 * 32 + 2.0 * 256 * 1 * 64 && fused && prof.steps().size() == 1000 ? 0
                                                                                                          : 1;
}
