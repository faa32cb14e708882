// docs/second-order.md: a Newton-type optimizer. TrustRegion minimises an L2-regularised logistic regression
// with Hessian-vector products replayed from one recorded tape, to a gradient norm of 1e-10.
#include <cstdio>

#include "tapegrad/autodiff.hpp"
#include "tapegrad/optim.hpp"

using namespace tapegrad;

int main() {
  const Index n = 500, d = 20;
  const Matrix<double> X = Matrix<double>::Random(n, d), w_true = 3 * Matrix<double>::Random(d, 1);
  Matrix<double> y = ((X * w_true).array() > 0).cast<double>().matrix();
  for (Index i = 0; i < n; i += 10) y(i, 0) = 1 - y(i, 0);  // one label in ten flipped
  Parameter<double> w(Matrix<double>::Zero(d, 1), "w");

  // The loss, recorded once: the optimizer moves w, the tape replays.
  HvpTape<double> h(
      [&](Tape<double>& t) {
        auto W = t.parameter(w);
        return binary_cross_entropy_with_logits(matmul(t.constant(X), W), t.constant(y)) +
               sum(square(W)) * 1e-3;
      },
      {&w});
  optim::TrustRegion<double> opt(h, {.gtol = 1e-10});
  do {
    opt.step();  // one outer iteration: CG in the trust region, one trial point
    std::printf("iteration %ld: loss %.15f, |gradient| %.3e, radius %g, %ld CG iterations\n",
                opt.iterations(), opt.loss(), opt.gradient_norm(), opt.radius(), opt.last_cg_iterations());
  } while (opt.status() == optim::TrustRegionStatus::running);  // or: opt.minimize()
  std::printf("%s: %ld iterations, %ld HVPs, %ld evaluations\n", optim::to_string(opt.status()),
              opt.iterations(), opt.hvps(), opt.evaluations());
  return opt.status() == optim::TrustRegionStatus::converged ? 0 : 1;
}
