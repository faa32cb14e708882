// docs/writing-a-loss.md: a loss of your own, made of ops, checked and used.
#include <cstdio>
#include <random>

#include "tapegrad/autodiff.hpp"
#include "tapegrad/optim.hpp"

using namespace tapegrad;

/// The pseudo-Huber loss of the residual r = pred - target: mean(δ² (√(1 + (r/δ)²) − 1)).
/// Quadratic for |r| << δ, linear for |r| >> δ, so outliers pull less than with mse.
/// A template over the scalar type, like the library's ops, so it works on float and double tapes.
template <class T>
Var<T> pseudo_huber(Var<T> pred, Var<T> target, T delta) {
  auto r = (pred - target) / delta;
  return mean(sqrt(square(r) + T(1)) - T(1)) * (delta * delta);
}

/// Fits y ≈ a x + b by minimising `loss_fn(pred, y)` with Adam; returns (a, b).
template <class LossFn>
std::pair<double, double> fit_line(const Matrix<double>& x, const Matrix<double>& y, LossFn loss_fn) {
  Parameter<double> a(Matrix<double>::Zero(1, 1)), b(Matrix<double>::Zero(1, 1));
  optim::Adam<double> opt({&a, &b}, {.lr = 0.05});
  Tape<double> tape;
  // a and b are 1x1: they broadcast over the n x 1 column x.
  auto loss = loss_fn(mul(tape.constant(x), tape.parameter(a)) + tape.parameter(b), tape.constant(y));
  for (int step = 0; step < 3000; ++step) {
    if (step > 0) tape.forward();  // replay the recorded graph on the new a, b
    opt.zero_grad();
    tape.backward(loss);
    opt.step();
  }
  return {a.value(0, 0), b.value(0, 0)};
}

int main() {
  // 1. Its gradient agrees with finite differences (on awkward shapes too: 3x2 against a 1x2 row).
  GradCheckResult check = check_gradients(
      [](Tape<double>&, const std::vector<Var<double>>& in) { return pseudo_huber(in[0], in[1], 0.7); },
      {Matrix<double>::Random(3, 2) * 3, Matrix<double>::Random(1, 2)});
  std::printf("gradient check: %s (%s)\n", check.ok ? "ok" : "FAILED", check.report().c_str());

  // 2. It is robust: a line through 100 points, 10 of them wild outliers.
  std::mt19937 rng(5);
  std::normal_distribution<double> noise(0.0, 0.05);
  Matrix<double> x(100, 1), y(100, 1);
  for (int i = 0; i < 100; ++i) {
    x(i, 0) = i / 50.0 - 1.0;
    y(i, 0) = 2.0 * x(i, 0) + 1.0 + noise(rng) + (i % 10 == 0 ? 8.0 : 0.0);
  }
  auto [a_mse, b_mse] = fit_line(x, y, [](auto p, auto t) { return mse(p, t); });
  auto [a_hub, b_hub] = fit_line(x, y, [](auto p, auto t) { return pseudo_huber(p, t, 0.1); });
  std::printf("true line       y = 2.000 x + 1.000\n");
  std::printf("mse fit         y = %.3f x + %.3f\n", a_mse, b_mse);
  std::printf("pseudo-Huber    y = %.3f x + %.3f\n", a_hub, b_hub);

  const bool robust = std::abs(a_hub - 2.0) < 0.05 && std::abs(b_hub - 1.0) < 0.05;
  const bool mse_pulled = std::abs(b_mse - 1.0) > 0.5;  // the outliers shift the mse fit by ~0.8
  return check.ok && robust && mse_pulled ? 0 : 1;
}
