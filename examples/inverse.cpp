// The seed series' first notebook: the inverse of a matrix by gradient descent.
//
// X ≈ M⁻¹ is found by minimising mse(X M, I) with the notebook's hand-written "heavy ball" update,
// in float32 from the notebook's starting point X0, for 10,000 iterations:
//
//     loss.backward()            # X.grad += d(loss)/dX  (never zeroed: it is the momentum buffer)
//     X -= lr * X.grad           # lr = 0.9
//     X.grad *= momentum         # momentum = 0.9
//
// Because the gradient is never zeroed, X.grad is exactly torch.optim.SGD's momentum buffer
// (buf = momentum·buf + g), so the same run with optim::Sgd{lr 0.9, momentum 0.9} and zero_grad() takes the
// same steps. The example runs both and checks them against the exact (float64) inverse.
//
// Usage: example_inverse DATA_DIR   (DATA_DIR = tests/data/seed/inverse, holding M1/ and M2/)
#include <cstdio>
#include <string>

#include "tapegrad/autodiff.hpp"
#include "tapegrad/io/files.hpp"
#include "tapegrad/optim.hpp"

using namespace tapegrad;

namespace {

constexpr int kIterations = 10000;
constexpr float kLr = 0.9f, kMomentum = 0.9f;

/// The notebook's loop, written out by hand. Returns the final X.
Matrix<float> heavy_ball(const Matrix<float>& m, const Matrix<float>& x0, float& final_loss) {
  Parameter<float> x(x0);
  Tape<float> tape;
  // Record the graph once: loss = mse(X M, I). Later iterations replay it with tape.forward().
  auto loss = mse(matmul(tape.parameter(x), tape.constant(m)),
                  tape.constant(Matrix<float>::Identity(m.rows(), m.cols())));
  for (int it = 0; it < kIterations; ++it) {
    if (it > 0) tape.forward();  // recompute every node from X's new value
    final_loss = loss.value()(0, 0);
    tape.backward(loss);  // accumulates into x.grad (no zero_grad, on purpose)
    x.value -= kLr * x.grad;
    x.grad *= kMomentum;
  }
  return x.value;
}

/// The same iteration with the library's SGD (PyTorch's torch.optim.SGD) and zero_grad().
Matrix<float> with_sgd(const Matrix<float>& m, const Matrix<float>& x0) {
  Parameter<float> x(x0);
  optim::Sgd<float> opt({&x}, {.lr = kLr, .momentum = kMomentum});
  Tape<float> tape;
  auto loss = mse(matmul(tape.parameter(x), tape.constant(m)),
                  tape.constant(Matrix<float>::Identity(m.rows(), m.cols())));
  for (int it = 0; it < kIterations; ++it) {
    if (it > 0) tape.forward();
    opt.zero_grad();
    tape.backward(loss);
    opt.step();
  }
  return x.value;
}

/// max |got − want| relative to the largest entry of want.
double rel_error(const Matrix<double>& got, const Matrix<double>& want) {
  return (got - want).cwiseAbs().maxCoeff() / want.cwiseAbs().maxCoeff();
}

bool run(const std::string& dir, const char* name) {
  const Matrix<float> m = io::read_matrix(dir + "/M.csv").cast<float>();
  const Matrix<float> x0 = io::read_matrix(dir + "/X0.csv").cast<float>();
  const Matrix<double> exact = io::read_matrix(dir + "/exact_inverse.csv");
  const Matrix<double> torch = io::read_matrix(dir + "/inverse.csv");  // the notebook's own result

  float final_loss = 0;
  const Matrix<double> x = heavy_ball(m, x0, final_loss).cast<double>();
  const Matrix<double> x_sgd = with_sgd(m, x0).cast<double>();

  // float32 carries ~7 digits; M1's inverse has entries up to ~5 and condition number ~70, so
  // 1e-4 of the largest entry is what single precision can promise here. It reaches 2e-6 (M1) and
  // 6e-8 (M2), and the two loops agree to the last bit.
  const double err = rel_error(x, exact), err_sgd = rel_error(x_sgd, exact), diff = rel_error(x_sgd, x);
  const double vs_torch = rel_error(x, torch);
  const bool ok = err < 1e-4 && err_sgd < 1e-4 && diff < 1e-5 && vs_torch < 1e-4;
  std::printf(
      "%s: final loss %.3g; error against the exact inverse %.3g (heavy ball), %.3g (optim::Sgd); "
      "heavy ball vs Sgd %.3g; vs PyTorch's X %.3g  %s\n",
      name, final_loss, err, err_sgd, diff, vs_torch, ok ? "ok" : "FAILED");
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DATA_DIR (tests/data/seed/inverse)\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  bool ok = true;
  for (const char* name : {"M1", "M2"}) ok = run(dir + "/" + name, name) && ok;
  return ok ? 0 : 1;
}
