// Softmax regression on three classes: F.cross_entropy with integer labels, and the same loss written out
// literally, which the graph optimizer runs as one fused node.
//
// Data: three Gaussian blobs in the plane (centres 120 degrees apart on the unit circle, standard deviation
// 0.35), generated in code from fixed seeds: 300 points to train on and 300 others to test on, labels 0,
// 1, 2.
//
// Model: logits = X W + b (W 2x3, b 1x3 broadcasting over the rows): one row of logits per point, one column
// per class, as PyTorch's F.cross_entropy expects. Loss: cross_entropy(logits, labels), the mean over the
// points of logsumexp(logits_i) - logits_i[y_i]. Optimiser: Adam (lr 0.05), full batch, 400 steps.
//
// The example asserts a test accuracy of at least 95% (it reaches 98%; the blobs overlap a little, so no
// classifier gets every point), that rowwise_softmax's probabilities sum to 1, and that the literal formula
// -mean(rowwise_sum(onehot * log(rowwise_softmax(logits)))) gives the same loss and gradients, with the
// graph optimizer running it as the fused node "softmax_cross_entropy".
#include <cmath>
#include <cstdio>
#include <numbers>
#include <random>
#include <string>

#include "accuracy.hpp"
#include "tapegrad/autodiff.hpp"
#include "tapegrad/optim.hpp"

using namespace tapegrad;
using examples::accuracy;

namespace {

struct Dataset {
  Matrix<double> x;           // n x 2 points
  std::vector<Index> labels;  // n classes in 0..2
};

Dataset blobs(int n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0.0, 0.35);
  Dataset d{Matrix<double>(n, 2), {}};
  for (int i = 0; i < n; ++i) {
    const Index label = i % 3;
    const double angle = 2 * std::numbers::pi * double(label) / 3;
    d.x(i, 0) = std::cos(angle) + noise(rng);
    d.x(i, 1) = std::sin(angle) + noise(rng);
    d.labels.push_back(label);
  }
  return d;
}

}  // namespace

int main() {
  const Dataset train = blobs(300, 1), test = blobs(300, 2);
  Parameter<double> w(Matrix<double>::Zero(2, 3), "W"), b(Matrix<double>::Zero(1, 3), "b");
  optim::Adam<double> opt({&w, &b}, {.lr = 0.05});

  Tape<double> tape;
  for (int step = 0; step < 400; ++step) {
    tape.clear();  // re-recorded every step: no allocation after the first
    auto logits = matmul(tape.constant(train.x), tape.parameter(w)) + tape.parameter(b);
    auto loss = cross_entropy(logits, train.labels);
    opt.zero_grad();
    tape.backward(loss);
    opt.step();
    if (step % 100 == 0) std::printf("step %3d  loss %.4f\n", step, loss.value()(0, 0));
  }

  Tape<double> eval;
  auto test_logits = matmul(eval.constant(test.x), eval.parameter(w)) + eval.parameter(b);
  const double test_acc = accuracy(test_logits.value(), test.labels);
  auto probabilities = rowwise_softmax(test_logits);
  const double worst_sum = (probabilities.value().rowwise().sum().array() - 1).abs().maxCoeff();
  std::printf("test accuracy %.4f; probabilities sum to 1 within %.1e\n", test_acc, worst_sum);

  // The loss written out literally, against cross_entropy: same value and gradients, run as one fused node.
  Matrix<double> onehot = Matrix<double>::Zero(300, 3);
  for (Index i = 0; i < 300; ++i) onehot(i, train.labels[std::size_t(i)]) = 1;
  double values[2];
  Matrix<double> grads[2];
  bool fused = false;
  for (int literal : {0, 1}) {
    Tape<double> t;
    auto logits = matmul(t.constant(train.x), t.parameter(w)) + t.parameter(b);
    auto loss = literal ? -mean(rowwise_sum(mul(t.constant(onehot), log(rowwise_softmax(logits)))))
                        : cross_entropy(logits, train.labels);
    w.zero_grad();
    t.backward(loss);
    values[literal] = loss.value()(0, 0);
    grads[literal] = w.grad;
    for (std::uint32_t i = 0; literal && i < t.size(); ++i)
      fused = fused || std::string(t.run_op_name(i)) == "softmax_cross_entropy";
  }
  const double diff = std::abs(values[0] - values[1]) + (grads[0] - grads[1]).cwiseAbs().maxCoeff();
  std::printf("literal formula: loss %.12f vs %.12f (difference with the gradients %.1e), fused: %s\n",
              values[1], values[0], diff, fused ? "yes" : "no");

  const bool ok = test_acc >= 0.95 && worst_sum < 1e-12 && diff < 1e-12 && fused;
  std::printf("%s\n", ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
