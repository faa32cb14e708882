// The first notebook's example, built against an installed tapegrad; then a short Adam fit that makes
// matrices cross the library boundary every way: the consumer allocates the parameters and the data, the
// library sizes and frees the tape's buffers and the optimizer's moments, zero_grad() reallocates in the
// consumer, and the tape and the optimizer are destroyed here. A consumer built for a wider instruction set
// than the library (-mavx2, -march=native) must still agree with it on how those matrices are allocated.
#include <cmath>
#include <iostream>
#include <tapegrad/autodiff.hpp>
#include <tapegrad/optim.hpp>

int main() {
  using namespace tapegrad;
  Parameter<double> x(Matrix<double>::Constant(1, 1, 3.0)), y(Matrix<double>::Constant(1, 1, 7.0));
  {
    Tape<double> tape;
    auto z = mul(tape.parameter(x), pow(tape.parameter(y), 5.0));
    tape.backward(z);
  }
  std::cout << "dz/dx = " << x.grad(0, 0) << ", dz/dy = " << y.grad(0, 0) << "\n";
  if (x.grad(0, 0) != 16807.0 || y.grad(0, 0) != 36015.0) return 1;

  // Least squares A w = b for a w the fit must find.
  const Matrix<double> a = Matrix<double>::Random(16, 5);
  const Matrix<double> w_true = Matrix<double>::Random(5, 3);
  const Matrix<double> b = a * w_true;
  Parameter<double> w(Matrix<double>::Zero(5, 3), "w");
  optim::Adam<double> adam({&w}, {.lr = 0.02});
  double loss = 0;
  for (int it = 0; it < 3000; ++it) {
    Tape<double> tape;  // a new tape each step: its buffers are freed here every iteration
    auto l = mse(matmul(tape.constant(a), tape.parameter(w)), tape.constant(b));
    adam.zero_grad();
    tape.backward(l);
    adam.step();
    loss = l.value()(0, 0);
  }
  std::cout << "least squares: loss " << loss << ", |w - w_true| " << (w.value - w_true).norm() << "\n";
  return loss < 1e-8 && (w.value - w_true).norm() < 1e-3 ? 0 : 1;
}
