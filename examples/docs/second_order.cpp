// docs/second-order.md: Newton's method with conjugate gradients, on Hessian-vector products from the tape.
// f(w) = mean((X w - y)²) + 0.01 Σ log(1 + w²): each Newton step solves H p = -g by CG, one HVP per CG
// iteration, all at one point of one recorded tape (HvpTape), and the gradient norm falls quadratically.
#include <cmath>
#include <cstdio>

#include "tapegrad/autodiff.hpp"

using namespace tapegrad;

int main() {
  const Index n = 50, d = 4;
  const Matrix<double> X = Matrix<double>::Random(n, d), y = Matrix<double>::Random(n, 1);
  Parameter<double> w(Matrix<double>::Zero(d, 1), "w");

  // Recorded once; every HVP below replays it.
  HvpTape<double> h(
      [&](Tape<double>& t) {
        auto W = t.parameter(w);
        return mean(square(matmul(t.constant(X), W) - t.constant(y))) + sum(log1p(square(W))) * 0.01;
      },
      {&w});

  // The first product at a point also gives the loss and the gradient (hvp() for a single product does all
  // of this in one call: hvp(f, params, v) returns the loss, the gradient and H v).
  double gnorm = 0;
  for (int step = 0; step < 8; ++step) {
    const Matrix<double> g = h.gradient()[0];
    gnorm = g.norm();
    std::printf("step %d: loss %.15f, |gradient| %.3e\n", step, h.loss(), gnorm);
    if (gnorm < 1e-12) break;
    // Conjugate gradients on H p = -g: H p only through HVPs.
    Matrix<double> p = Matrix<double>::Zero(d, 1), r = -g, q = r;
    for (int it = 0; it < 2 * d && r.norm() > 1e-14; ++it) {
      const Matrix<double> hq = h.hvp({q})[0];
      const double alpha = r.squaredNorm() / q.cwiseProduct(hq).sum();
      p += alpha * q;
      const Matrix<double> r_next = r - alpha * hq;
      q = r_next + (r_next.squaredNorm() / r.squaredNorm()) * q;
      r = r_next;
    }
    w.value += p;  // the next call sees the new point and recomputes the loss and gradient
  }
  return gnorm < 1e-10 ? 0 : 1;
}
