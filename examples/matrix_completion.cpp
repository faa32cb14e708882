// Low-rank matrix completion: fill in the missing entries of a matrix known to have rank 2.
//
// M (40x30) = A Bᵀ with A 40x2 and B 30x2 random; only 40% of its entries are observed (a random mask
// Ω, as in a ratings matrix where each user rated a few items). We look for factors P (40x2), Q (30x2)
// that fit the observed entries,
//     loss = Σ_{(i,j) ∈ Ω} ((P Qᵀ)_ij − M_ij)² / |Ω|,
// written with the ops as sum_squares(mask ∘ (P Qᵀ − M)) / |Ω|, where mask is the 0/1 indicator of Ω
// (a constant: entries outside Ω contribute neither to the loss nor to the gradients). Adam with an
// exponentially decaying learning rate (optim::ExponentialLR) does the fitting.
//
// The test is on the entries that were NOT observed: P Qᵀ must predict them, which only works because
// the rank is low (2·(40+30) = 140 unknowns, 483 observations). The example asserts that the RMS error
// on the hidden entries is below 1e-6 of the matrix's RMS value (it reaches ~1e-15: exact recovery).
#include <cmath>
#include <cstdio>
#include <random>

#include "tapegrad/autodiff.hpp"
#include "tapegrad/optim.hpp"

using namespace tapegrad;

namespace {
Matrix<double> random_normal(Index rows, Index cols, double scale, std::mt19937& rng) {
  std::normal_distribution<double> normal(0.0, scale);
  Matrix<double> m(rows, cols);
  for (Index j = 0; j < cols; ++j)
    for (Index i = 0; i < rows; ++i) m(i, j) = normal(rng);
  return m;
}
}  // namespace

int main() {
  const Index rows = 40, cols = 30, rank = 2;
  std::mt19937 rng(7);
  const Matrix<double> a = random_normal(rows, rank, 1.0, rng), b = random_normal(cols, rank, 1.0, rng);
  const Matrix<double> m = a * b.transpose();

  // Observe each entry with probability 0.4.
  std::bernoulli_distribution observed(0.4);
  Matrix<double> mask(rows, cols);
  for (Index j = 0; j < cols; ++j)
    for (Index i = 0; i < rows; ++i) mask(i, j) = observed(rng) ? 1.0 : 0.0;
  const double n_observed = mask.sum();

  // Small random factors: starting at zero would be a saddle point (all gradients vanish there).
  Parameter<double> p(random_normal(rows, rank, 0.1, rng), "P"), q(random_normal(cols, rank, 0.1, rng), "Q");
  optim::Adam<double> opt({&p, &q}, {.lr = 0.05});
  optim::ExponentialLR<double> schedule(opt, 0.999);

  Tape<double> tape;
  auto prediction = matmul(tape.parameter(p), transpose(tape.parameter(q)));
  auto error = mul(prediction - tape.constant(m), tape.constant(mask));  // zero outside Ω
  auto loss = sum_squares(error) / n_observed;

  for (int step = 0; step < 1500; ++step) {
    if (step > 0) tape.forward();
    opt.zero_grad();
    tape.backward(loss);
    opt.step();
    schedule.step();
    if (step % 500 == 0) std::printf("step %4d  loss %.3g  lr %.3g\n", step, loss.value()(0, 0), opt.lr());
  }
  tape.forward();

  // How well are the hidden entries predicted?
  const Matrix<double> hidden = Matrix<double>::Ones(rows, cols) - mask;
  const Matrix<double> diff = (prediction.value() - m).cwiseProduct(hidden);
  const double rms_hidden = std::sqrt(diff.squaredNorm() / hidden.sum());
  const double rms_m = std::sqrt(m.squaredNorm() / static_cast<double>(m.size()));
  std::printf("observed %.0f of %ld entries; final loss %.3g\n", n_observed, static_cast<long>(m.size()),
              loss.value()(0, 0));
  std::printf("RMS error on the %.0f hidden entries: %.3g (%.3g%% of RMS(M) = %.3g)\n", hidden.sum(),
              rms_hidden, 100 * rms_hidden / rms_m, rms_m);
  const bool ok = rms_hidden < 1e-6 * rms_m;
  std::printf("%s\n", ok ? "ok" : "FAILED: the hidden entries are not recovered");
  return ok ? 0 : 1;
}
