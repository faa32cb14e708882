// Fused loss ops: one node and one pass instead of sub + square + mean.
#include "op_support.hpp"

namespace tapegrad {

template <class T>
Var<T> mse(Var<T> a, Var<T> b) {
  // l = Σ (A - B)² / N   =>   dA += 2 (A - B) dl / N,   dB -= 2 (A - B) dl / N
  Tape<T>& t = detail::same_tape("mse", a, b);
  if (a.rows() != b.rows() || a.cols() != b.cols()) {
    throw ShapeError("mse: shapes " + detail::shape_of(a.value()) + " and " + detail::shape_of(b.value()) +
                     " differ");
  }
  if (a.rows() * a.cols() == 0)
    throw ShapeError("mse: the mean of an empty " + detail::shape_of(a.value()) + " matrix is undefined");
  return t.record(
      "mse", {a, b}, 1, 1,
      [](OpContext<T>& c) { c.out()(0, 0) = (c.in(0) - c.in(1)).squaredNorm() / T(c.in(0).size()); },
      [](OpContext<T>& c) {
        const T k = T(2) * c.grad_out()(0, 0) / T(c.in(0).size());
        if (c.needs_grad(0) && c.needs_grad(1)) {
          // One pass over A - B for both gradients.
          auto ga = c.grad_in(0).array();
          auto gb = c.grad_in(1).array();
          const auto a = c.in(0).array(), b = c.in(1).array();
          for (Index j = 0; j < a.cols(); ++j) {
            for (Index i = 0; i < a.rows(); ++i) {
              const T d = k * (a(i, j) - b(i, j));
              ga(i, j) += d;
              gb(i, j) -= d;
            }
          }
        } else if (c.needs_grad(0)) {
          c.grad_in(0) += k * (c.in(0) - c.in(1));
        } else if (c.needs_grad(1)) {
          c.grad_in(1) -= k * (c.in(0) - c.in(1));
        }
      });
}

template <class T>
Var<T> sum_squares(Var<T> a) {
  // l = Σ A²   =>   dA += 2 A dl
  return a.tape().record(
      "sum_squares", {a}, 1, 1, [](OpContext<T>& c) { c.out()(0, 0) = c.in(0).squaredNorm(); },
      [](OpContext<T>& c) { c.grad_in(0) += (T(2) * c.grad_out()(0, 0)) * c.in(0); });
}

#define TAPEGRAD_INSTANTIATE(T)           \
  template Var<T> mse<T>(Var<T>, Var<T>); \
  template Var<T> sum_squares<T>(Var<T>);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace tapegrad
