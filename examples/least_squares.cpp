// Linear least squares by gradient-based optimisation, checked against the normal equations.
//
// Given A (200x6: a column of ones and five random features) and b = A x* + noise, find
//     x = argmin ½‖A x − b‖²
// with L-BFGS (tapegrad::optim::Lbfgs), then compare with the solution of the normal equations
// AᵀA x = Aᵀb computed by Eigen's LDLT factorisation. The tape is recorded once; the L-BFGS closure
// replays it with tape.forward() at every trial point, so the loop allocates nothing.
#include <Eigen/Cholesky>
#include <cstdio>
#include <random>

#include "tapegrad/autodiff.hpp"
#include "tapegrad/optim.hpp"

using namespace tapegrad;

int main() {
  // Data from a fixed seed: the example is deterministic.
  std::mt19937 rng(2020);
  std::normal_distribution<double> normal(0.0, 1.0);
  const Index m = 200, n = 6;
  Matrix<double> a(m, n);
  for (Index i = 0; i < m; ++i) {
    a(i, 0) = 1.0;  // intercept
    for (Index j = 1; j < n; ++j) a(i, j) = normal(rng);
  }
  Matrix<double> x_true(n, 1);
  x_true << 0.5, -1.0, 2.0, 0.0, 3.5, -0.25;
  Matrix<double> b = a * x_true;
  for (Index i = 0; i < m; ++i) b(i, 0) += 0.1 * normal(rng);

  // The model: one parameter, x (6x1), starting at zero.
  Parameter<double> x(Matrix<double>::Zero(n, 1), "x");
  Tape<double> tape;
  auto residual = matmul(tape.constant(a), tape.parameter(x)) - tape.constant(b);
  auto loss = sum_squares(residual) * 0.5;

  optim::Lbfgs<double> opt({&x}, {.history_size = 10});
  // The closure re-evaluates the loss and the gradient wherever L-BFGS has moved x.
  auto closure = [&] {
    tape.forward();
    opt.zero_grad();
    tape.backward(loss);
    return loss.value()(0, 0);
  };
  double f = closure();
  int it = 0;
  for (; it < 100; ++it) {
    const double before = f;
    f = opt.step(closure, f);
    if (opt.line_search_failed() || before - f <= 1e-15 * before) break;
  }

  // The reference: the normal equations, solved directly.
  const Matrix<double> x_ref = (a.transpose() * a).ldlt().solve(a.transpose() * b);
  const double err = (x.value - x_ref).norm() / x_ref.norm();
  const double grad_norm = x.grad.norm();
  std::printf("L-BFGS: %d iterations, %ld evaluations, loss %.6g, |grad| %.3g\n", it, opt.evaluations(), f,
              grad_norm);
  for (Index j = 0; j < n; ++j)
    std::printf("  x[%ld] = %+.9f   normal equations %+.9f   true %+.2f\n", static_cast<long>(j),
                x.value(j, 0), x_ref(j, 0), x_true(j, 0));
  std::printf("|x - x_ref| / |x_ref| = %.3g\n", err);
  const bool ok = err < 1e-9;
  std::printf("%s\n", ok ? "ok" : "FAILED: L-BFGS did not reach the normal-equations solution");
  return ok ? 0 : 1;
}
