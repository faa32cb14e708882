// Fused losses: one node and one pass instead of sub + square + mean (also what the graph optimizer turns
// those formulas into).
#include "kernels.hpp"
#include "op_support.hpp"

namespace tapegrad {

namespace detail {

template <class T>
const OpDef<T>& squared_difference_op(bool mean) {
  // l = Σ (A - B)² / s   =>   dA += 2 (A - B) dl / s,   dB -= 2 (A - B) dl / s   (s: the node's scalar)
  static constexpr ForwardFn<T> forward = [](OpContext<T>& c) {
    c.out()(0, 0) = (c.in(0) - c.in(1)).squaredNorm() / c.scalar();
  };
  static constexpr BackwardFn<T> backward = [](OpContext<T>& c) {
    const T k = T(2) * c.grad_out()(0, 0) / c.scalar();
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
  };
  static constexpr OpDef<T> ops[2] = {{"sum_squared_difference", OpKind::custom, forward, backward},
                                      {"mse", OpKind::custom, forward, backward}};
  return ops[mean ? 1 : 0];
}

template <class T>
const OpDef<T>& squares_op(bool mean) {
  // l = Σ A² / s   =>   dA += 2 A dl / s   (s: the node's scalar)
  static constexpr ForwardFn<T> forward = [](OpContext<T>& c) {
    c.out()(0, 0) = c.in(0).squaredNorm() / c.scalar();
  };
  static constexpr BackwardFn<T> backward = [](OpContext<T>& c) {
    c.grad_in(0) += (T(2) * c.grad_out()(0, 0) / c.scalar()) * c.in(0);
  };
  static constexpr OpDef<T> ops[2] = {{"sum_squares", OpKind::sum_squares, forward, backward},
                                      {"mean_squares", OpKind::custom, forward, backward}};
  return ops[mean ? 1 : 0];
}

}  // namespace detail

template <class T>
Var<T> mse(Var<T> a, Var<T> b) {
  // l = Σ (A - B)² / N   (detail::squared_difference_op)
  Tape<T>& t = detail::same_tape("mse", a, b);
  if (a.rows() != b.rows() || a.cols() != b.cols()) {
    throw ShapeError("mse: shapes " + detail::shape_of(a) + " and " + detail::shape_of(b) + " differ");
  }
  if (a.rows() * a.cols() == 0)
    throw ShapeError("mse: the mean of an empty " + detail::shape_of(a) + " matrix is undefined");
  return t.record(detail::squared_difference_op<T>(true), {a, b}, 1, 1, T(a.rows() * a.cols()));
}

template <class T>
Var<T> sum_squares(Var<T> a) {
  // l = Σ A²   (detail::squares_op)
  return a.tape().record(detail::squares_op<T>(false), {a}, 1, 1, T(1));
}

#define TAPEGRAD_INSTANTIATE(T)                                         \
  template Var<T> mse<T>(Var<T>, Var<T>);                               \
  template Var<T> sum_squares<T>(Var<T>);                               \
  template const OpDef<T>& detail::squared_difference_op<T>(bool mean); \
  template const OpDef<T>& detail::squares_op<T>(bool mean);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace tapegrad
