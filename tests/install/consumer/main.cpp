// The first notebook's example, built against an installed tapegrad.
#include <iostream>
#include <tapegrad/autodiff.hpp>

int main() {
  using namespace tapegrad;
  Parameter<double> x(Matrix<double>::Constant(1, 1, 3.0)), y(Matrix<double>::Constant(1, 1, 7.0));
  Tape<double> tape;
  auto z = mul(tape.parameter(x), pow(tape.parameter(y), 5.0));
  tape.backward(z);
  std::cout << "dz/dx = " << x.grad(0, 0) << ", dz/dy = " << y.grad(0, 0) << "\n";
  return x.grad(0, 0) == 16807.0 && y.grad(0, 0) == 36015.0 ? 0 : 1;
}
