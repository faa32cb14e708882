// Fused losses: one node and one pass instead of sub + square + mean (also what the graph optimizer turns
// those formulas into).
#include <type_traits>

#include "costs.hpp"
#include "kernels.hpp"
#include "op_support.hpp"

namespace tapegrad {

namespace detail {

template <class T>
const OpDef<T>& squared_difference_op(bool mean) {
  // l = Σ (A - B)² / s   =>   dA += 2 (A - B) dl / s,   dB -= 2 (A - B) dl / s   (s: the node's scalar)
  // cost: 3n + 1 (-, multiply-add per entry; / s); backward 2 + 2n (k = 2 dl / s; -, ∘ k) + n per input with
  // a gradient (+= or -=)
  static constexpr CostFn cost = [](const OpShapes& s, bool backward) -> OpCost {
    const double n = in_size(s, 0);
    if (!backward) return {3 * n + 1, 2 * n + 1};
    const double g = (s.needs_grad[0] ? 1 : 0) + (s.needs_grad[1] ? 1 : 0);
    return {2 + 2 * n + g * n, 1 + 2 * n + 2 * g * n};
  };
  static constexpr ForwardFn<T> forward = [](OpContext<T>& c) {
    c.out()(0, 0) = (c.in(0) - c.in(1)).squaredNorm() / c.scalar();
  };
  static constexpr BackwardFn<T> backward = [](OpContext<T>& c) {
    const T k = T(2) * c.grad_out()(0, 0) / c.scalar();
    if (c.needs_grad(0) && c.needs_grad(1)) {
      // One pass over A - B for both gradients (each written or added to: OpContext::first).
      auto ga = c.grad_in(0).array();
      auto gb = c.grad_in(1).array();
      const auto a = c.in(0).array(), b = c.in(1).array();
      auto pass = [&](auto first_a, auto first_b) {
        for (Index j = 0; j < a.cols(); ++j) {
          for (Index i = 0; i < a.rows(); ++i) {
            const T d = k * (a(i, j) - b(i, j));
            if constexpr (first_a)
              ga(i, j) = d;
            else
              ga(i, j) += d;
            if constexpr (first_b)
              gb(i, j) = -d;
            else
              gb(i, j) -= d;
          }
        }
      };
      using Yes = std::true_type;
      using No = std::false_type;
      if (c.first(0))
        c.first(1) ? pass(Yes{}, Yes{}) : pass(Yes{}, No{});
      else
        c.first(1) ? pass(No{}, Yes{}) : pass(No{}, No{});
    } else if (c.needs_grad(0)) {
      c.add_to_grad(0, k * (c.in(0) - c.in(1)));
    } else if (c.needs_grad(1)) {
      c.add_to_grad(1, (-k) * (c.in(0) - c.in(1)));
    }
  };
  // Second order: l̇ = 2 Σ (A - B)(Ȧ - Ḃ) / s;   dȦ += 2 ((Ȧ - Ḃ) G + (A - B) Ġ) / s,   dḂ -= the same.
  // An input with no gradient has a zero tangent, which is not read (B is usually the data: m×n).
  static constexpr ForwardFn<T> tangent = [](OpContext<T>& c) {
    const auto diff = (c.in(0) - c.in(1)).array();
    T dot = T(0);
    if (c.needs_grad(0) && c.needs_grad(1))
      dot = (diff * (c.tangent_in(0) - c.tangent_in(1)).array()).sum();
    else if (c.needs_grad(0))
      dot = (diff * c.tangent_in(0).array()).sum();
    else if (c.needs_grad(1))
      dot = -(diff * c.tangent_in(1).array()).sum();
    c.tangent_out()(0, 0) = T(2) * dot / c.scalar();
  };
  static constexpr BackwardFn<T> tangent_backward = [](OpContext<T>& c) {
    const T g = T(2) * c.grad_out()(0, 0) / c.scalar(), dg = T(2) * c.grad_out_tangent()(0, 0) / c.scalar();
    if (c.needs_grad(0) && c.needs_grad(1)) {
      const auto d = g * (c.tangent_in(0) - c.tangent_in(1)) + dg * (c.in(0) - c.in(1));
      c.grad_in_tangent(0) += d;
      c.grad_in_tangent(1) -= d;
    } else if (c.needs_grad(0)) {
      c.grad_in_tangent(0) += g * c.tangent_in(0) + dg * (c.in(0) - c.in(1));
    } else if (c.needs_grad(1)) {
      c.grad_in_tangent(1) += g * c.tangent_in(1) - dg * (c.in(0) - c.in(1));
    }
  };
  static constexpr OpDef<T> ops[2] = {
      {"sum_squared_difference", OpKind::custom, forward, backward, cost, true, tangent, tangent_backward},
      {"mse", OpKind::custom, forward, backward, cost, true, tangent, tangent_backward}};
  return ops[mean ? 1 : 0];
}

template <class T>
const OpDef<T>& squares_op(bool mean) {
  // l = Σ A² / s   =>   dA += 2 A dl / s   (s: the node's scalar)
  // cost: 2n + 1 (multiply-adds, / s); backward 2 + 2n (2 dl / s; ∘, +=)
  static constexpr CostFn cost = [](const OpShapes& s, bool backward) -> OpCost {
    const double n = in_size(s, 0);
    return backward ? OpCost{2 + 2 * n, 3 * n + 1} : OpCost{2 * n + 1, n + 1};
  };
  static constexpr ForwardFn<T> forward = [](OpContext<T>& c) {
    c.out()(0, 0) = c.in(0).squaredNorm() / c.scalar();
  };
  static constexpr BackwardFn<T> backward = [](OpContext<T>& c) {
    c.add_to_grad(0, (T(2) * c.grad_out()(0, 0) / c.scalar()) * c.in(0));
  };
  // Second order: l̇ = 2 Σ A Ȧ / s;   dȦ += 2 (Ȧ G + A Ġ) / s
  static constexpr ForwardFn<T> tangent = [](OpContext<T>& c) {
    c.tangent_out()(0, 0) = T(2) * (c.in(0).array() * c.tangent_in(0).array()).sum() / c.scalar();
  };
  static constexpr BackwardFn<T> tangent_backward = [](OpContext<T>& c) {
    const T g = T(2) * c.grad_out()(0, 0) / c.scalar(), dg = T(2) * c.grad_out_tangent()(0, 0) / c.scalar();
    c.grad_in_tangent(0) += g * c.tangent_in(0) + dg * c.in(0);
  };
  static constexpr OpDef<T> ops[2] = {
      {"sum_squares", OpKind::sum_squares, forward, backward, cost, true, tangent, tangent_backward},
      {"mean_squares", OpKind::custom, forward, backward, cost, true, tangent, tangent_backward}};
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
