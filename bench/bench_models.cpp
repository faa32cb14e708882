// Small models written the way the README teaches (each step: tape.clear(), record the model and its loss,
// opt.zero_grad(), tape.backward(loss), opt.step()), timed per step in float and double, one thread.
// bench/pytorch_models.py runs the same workloads with PyTorch, side by side.
//
//   models/mlp/<dtype>          batch 256, 32 -> 64 -> 1: tanh(X W1 + b1) W2 + b2, mse(pred, Y), SGD(0.01,
//   0.9) models/mlp_meansq/<dtype>   the same with the loss written mean(square(pred - Y))
//   models/logreg/<dtype>       batch 256, 32 features, labels y in {0, 1} (as s = 2y - 1 in {-1, 1}):
//                               z = X w + b, loss mean(log(1 + exp(-s ∘ z))) (binary cross-entropy with
//                               logits), Adam(0.01)
//   models/lstsq/<dtype>        examples/least_squares.cpp's problem (A 200x6 with an intercept column,
//                               x 6x1 from zero): ½‖A x − b‖², Adam(0.05) (the example itself uses L-BFGS)
#include <cmath>
#include <random>
#include <string>

#include "harness.hpp"
#include "tapegrad/optim.hpp"

using namespace tapegrad;
using tapegrad::bench::allocations;

namespace {

template <class T>
Matrix<T> normal(Index r, Index c, std::mt19937_64& rng) {
  std::normal_distribution<double> n(0.0, 1.0);
  return Matrix<double>::NullaryExpr(r, c, [&] { return n(rng); }).template cast<T>();
}

// PyTorch's nn.Linear initialisation: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
template <class T>
Matrix<T> linear_init(Index r, Index c, Index fan_in, std::mt19937_64& rng) {
  const double k = 1.0 / std::sqrt(static_cast<double>(fan_in));
  std::uniform_real_distribution<double> u(-k, k);
  return Matrix<double>::NullaryExpr(r, c, [&] { return u(rng); }).template cast<T>();
}

// Times the README's training step: tape.clear(), loss = model(tape) (recording the model and its loss),
// opt.zero_grad(), tape.backward(loss), opt.step(). The first step (which sizes every buffer and the
// optimizer's state) is outside the timing and the allocation count. The "loss" counter is the last step's
// loss: finite and lower than at the start when the model trains.
template <class T, class Model>
void time_training(benchmark::State& state, optim::Optimizer<T>& opt, Model model) {
  Tape<T> tape;
  double last = 0;
  bench::time_steps(state, [&] {
    tape.clear();
    Var<T> loss = model(tape);
    opt.zero_grad();
    tape.backward(loss);
    opt.step();
    last = static_cast<double>(loss.value()(0, 0));
  });
  state.counters["loss"] = last;
}

constexpr Index kBatch = 256, kFeatures = 32, kHidden = 64;

template <class T>
void mlp(benchmark::State& state, bool mean_square) {
  std::mt19937_64 rng(1);
  const Matrix<T> x = normal<T>(kBatch, kFeatures, rng);
  const Matrix<T> w_true = normal<T>(kFeatures, 1, rng);
  const Matrix<T> y = (x * w_true / T(std::sqrt(double(kFeatures)))).array().sin().matrix();
  Parameter<T> w1(linear_init<T>(kFeatures, kHidden, kFeatures, rng)),
      b1(linear_init<T>(1, kHidden, kFeatures, rng)), w2(linear_init<T>(kHidden, 1, kHidden, rng)),
      b2(linear_init<T>(1, 1, kHidden, rng));
  optim::Sgd<T> opt({&w1, &b1, &w2, &b2}, {.lr = 0.01, .momentum = 0.9});
  time_training(state, opt, [&](Tape<T>& tape) {
    auto X = tape.constant(x), Y = tape.constant(y);
    auto h = tanh(matmul(X, tape.parameter(w1)) + tape.parameter(b1));
    auto pred = matmul(h, tape.parameter(w2)) + tape.parameter(b2);
    return mean_square ? mean(square(pred - Y)) : mse(pred, Y);
  });
}

template <class T>
void logreg(benchmark::State& state) {
  std::mt19937_64 rng(2);
  const Matrix<T> x = normal<T>(kBatch, kFeatures, rng);
  const Matrix<T> w_true = normal<T>(kFeatures, 1, rng);
  // Labels from a linear rule with 10% of them flipped (the weights stay bounded over millions of steps).
  std::bernoulli_distribution flip(0.1);
  Matrix<T> s(kBatch, 1);
  for (Index i = 0; i < kBatch; ++i)
    s(i, 0) = ((x.row(i) * w_true)(0, 0) >= T(0)) != flip(rng) ? T(1) : T(-1);
  Parameter<T> w(Matrix<T>::Zero(kFeatures, 1)), b(Matrix<T>::Zero(1, 1));
  optim::Adam<T> opt({&w, &b}, {.lr = 0.01});
  time_training(state, opt, [&](Tape<T>& tape) {
    auto X = tape.constant(x), S = tape.constant(s);
    auto z = matmul(X, tape.parameter(w)) + tape.parameter(b);
    return mean(log(1.0 + exp(-mul(S, z))));
  });
}

template <class T>
void lstsq(benchmark::State& state) {
  // examples/least_squares.cpp's data (same seed and shapes): a column of ones and five N(0, 1) features.
  std::mt19937 rng(2020);
  std::normal_distribution<double> normal01(0.0, 1.0);
  const Index m = 200, n = 6;
  Matrix<double> a(m, n);
  for (Index i = 0; i < m; ++i) {
    a(i, 0) = 1.0;
    for (Index j = 1; j < n; ++j) a(i, j) = normal01(rng);
  }
  Matrix<double> x_true(n, 1);
  x_true << 0.5, -1.0, 2.0, 0.0, 3.5, -0.25;
  Matrix<double> b = a * x_true;
  for (Index i = 0; i < m; ++i) b(i, 0) += 0.1 * normal01(rng);
  const Matrix<T> at = a.cast<T>(), bt = b.cast<T>();
  Parameter<T> x(Matrix<T>::Zero(n, 1));
  optim::Adam<T> opt({&x}, {.lr = 0.05});
  time_training(state, opt, [&](Tape<T>& tape) {
    auto residual = matmul(tape.constant(at), tape.parameter(x)) - tape.constant(bt);
    return sum_squares(residual) * 0.5;
  });
}

template <class T>
void register_all(const std::string& type) {
  auto add = [&](const std::string& model, auto fn) {
    benchmark::RegisterBenchmark(("models/" + model + "/" + type).c_str(), fn)->Unit(benchmark::kMicrosecond);
  };
  add("mlp", [](benchmark::State& s) { mlp<T>(s, false); });
  add("mlp_meansq", [](benchmark::State& s) { mlp<T>(s, true); });
  add("logreg", [](benchmark::State& s) { logreg<T>(s); });
  add("lstsq", [](benchmark::State& s) { lstsq<T>(s); });
}

const int registered = [] {
  register_all<float>("f32");
  register_all<double>("f64");
  return 0;
}();

}  // namespace
