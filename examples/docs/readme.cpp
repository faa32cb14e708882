// The README's example: a linear model fitted with Adam; w -> (1, 1, 1), b -> 0.
#include <cstdio>
#include <tapegrad/autodiff.hpp>
#include <tapegrad/optim.hpp>
using namespace tapegrad;

int main() {
  Matrix<double> X = Matrix<double>::Random(100, 3), Y = X * Matrix<double>::Ones(3, 1);
  Parameter<double> w(Matrix<double>::Zero(3, 1)), b(Matrix<double>::Zero(1, 1));
  optim::Adam<double> opt({&w, &b}, {.lr = 0.05});
  Tape<double> tape;
  for (int step = 0; step < 1000; ++step) {
    tape.clear();  // keeps its buffers: no allocation after step 0
    auto pred = matmul(tape.constant(X), tape.parameter(w)) + tape.parameter(b);  // b broadcasts
    auto loss = mse(pred, tape.constant(Y));
    opt.zero_grad();
    tape.backward(loss);  // one reverse sweep over the tape
    opt.step();
  }
  std::printf("w = (%.6f, %.6f, %.6f), b = %.2e\n", w.value(0, 0), w.value(1, 0), w.value(2, 0),
              b.value(0, 0));
  return (w.value.array() - 1).abs().maxCoeff() < 1e-4 && std::abs(b.value(0, 0)) < 1e-4 ? 0 : 1;
}
