// Reductions: sums, means, the Frobenius norm, logsumexp.
#include <cmath>

#include "costs.hpp"
#include "op_support.hpp"
#include "second_order.hpp"

namespace tapegrad {

template <class T>
Var<T> sum(Var<T> a) {
  // c = Σ A   =>   dA += dc (every entry)   (cost: a = entries of A; backward a)
  static constexpr OpDef<T> op{
      "sum", OpKind::sum, [](OpContext<T>& c) { c.out()(0, 0) = c.in(0).sum(); },
      [](OpContext<T>& c) { c.grad_in(0).array() += c.grad_out()(0, 0); }, detail::reduction_cost<0>, false,
      // linear: ċ = Σ Ȧ,   dȦ += Ġ
      [](OpContext<T>& c) { c.tangent_out()(0, 0) = c.tangent_in(0).sum(); },
      [](OpContext<T>& c) { c.grad_in_tangent(0).array() += c.grad_out_tangent()(0, 0); }};
  return a.tape().record(op, {a}, 1, 1);
}

template <class T>
Var<T> mean(Var<T> a) {
  // c = Σ A / N   =>   dA += dc / N   (cost: a + 1; backward a + 1)
  if (a.rows() * a.cols() == 0)
    throw ShapeError("mean: the mean of an empty " + detail::shape_of(a) + " matrix is undefined");
  static constexpr OpDef<T> op{
      "mean", OpKind::mean, [](OpContext<T>& c) { c.out()(0, 0) = c.in(0).mean(); },
      [](OpContext<T>& c) { c.grad_in(0).array() += c.grad_out()(0, 0) / T(c.in(0).size()); },
      detail::reduction_cost<1>, false,
      // linear: ċ = Σ Ȧ / N,   dȦ += Ġ / N
      [](OpContext<T>& c) { c.tangent_out()(0, 0) = c.tangent_in(0).mean(); },
      [](OpContext<T>& c) {
        c.grad_in_tangent(0).array() += c.grad_out_tangent()(0, 0) / T(c.in(0).size());
      }};
  return a.tape().record(op, {a}, 1, 1);
}

template <class T>
Var<T> colwise_sum(Var<T> a) {
  // c_j = Σ_i A_ij   =>   dA_ij += dc_j   (cost: a; backward a)
  // linear: the same op on the tangents
  static constexpr OpDef<T> op{
      "colwise_sum",
      OpKind::custom,
      [](OpContext<T>& c) { c.out() = c.in(0).colwise().sum(); },
      [](OpContext<T>& c) { c.grad_in(0).rowwise() += c.grad_out().row(0); },
      detail::reduction_cost<0>,
      false,
      [](OpContext<T>& c) { c.tangent_out() = c.tangent_in(0).colwise().sum(); },
      [](OpContext<T>& c) { c.grad_in_tangent(0).rowwise() += c.grad_out_tangent().row(0); }};
  return a.tape().record(op, {a}, 1, a.cols());
}

template <class T>
Var<T> rowwise_sum(Var<T> a) {
  // c_i = Σ_j A_ij   =>   dA_ij += dc_i   (cost: a; backward a)
  static constexpr OpDef<T> op{
      "rowwise_sum", OpKind::rowwise_sum, [](OpContext<T>& c) { c.out() = c.in(0).rowwise().sum(); },
      [](OpContext<T>& c) { c.grad_in(0).colwise() += c.grad_out().col(0); }, detail::reduction_cost<0>,
      false,
      // linear: the same op on the tangents
      [](OpContext<T>& c) { c.tangent_out() = c.tangent_in(0).rowwise().sum(); },
      [](OpContext<T>& c) { c.grad_in_tangent(0).colwise() += c.grad_out_tangent().col(0); }};
  return a.tape().record(op, {a}, a.rows(), 1);
}

template <class T>
Var<T> colwise_mean(Var<T> a) {
  // c_j = Σ_i A_ij / R   =>   dA_ij += dc_j / R   (cost: a + cols; backward a + cols)
  if (a.rows() == 0) throw ShapeError("colwise_mean: the mean over 0 rows is undefined");
  // linear: the same op on the tangents
  static constexpr OpDef<T> op{
      "colwise_mean",
      OpKind::custom,
      [](OpContext<T>& c) { c.out() = c.in(0).colwise().mean(); },
      [](OpContext<T>& c) { c.grad_in(0).rowwise() += c.grad_out().row(0) / T(c.in(0).rows()); },
      detail::reduction_cost<1>,
      false,
      [](OpContext<T>& c) { c.tangent_out() = c.tangent_in(0).colwise().mean(); },
      [](OpContext<T>& c) {
        c.grad_in_tangent(0).rowwise() += c.grad_out_tangent().row(0) / T(c.in(0).rows());
      }};
  return a.tape().record(op, {a}, 1, a.cols());
}

template <class T>
Var<T> rowwise_mean(Var<T> a) {
  // c_i = Σ_j A_ij / C   =>   dA_ij += dc_i / C   (cost: a + rows; backward a + rows)
  if (a.cols() == 0) throw ShapeError("rowwise_mean: the mean over 0 columns is undefined");
  // linear: the same op on the tangents
  static constexpr OpDef<T> op{
      "rowwise_mean",
      OpKind::custom,
      [](OpContext<T>& c) { c.out() = c.in(0).rowwise().mean(); },
      [](OpContext<T>& c) { c.grad_in(0).colwise() += c.grad_out().col(0) / T(c.in(0).cols()); },
      detail::reduction_cost<1>,
      false,
      [](OpContext<T>& c) { c.tangent_out() = c.tangent_in(0).rowwise().mean(); },
      [](OpContext<T>& c) {
        c.grad_in_tangent(0).colwise() += c.grad_out_tangent().col(0) / T(c.in(0).cols());
      }};
  return a.tape().record(op, {a}, a.rows(), 1);
}

template <class T>
Var<T> norm(Var<T> a) {
  // c = ‖A‖_F (scaled, as LAPACK's dnrm2: no overflow at 1e200, no underflow at 1e-170)   =>   dA += A dc / c
  // (0 at A = 0; cost: 2a + 1 (multiply-adds, √), backward 2a + 1)
  static constexpr CostFn cost = [](const OpShapes& s, bool backward) -> OpCost {
    const double a = detail::in_size(s, 0);
    return backward ? OpCost{2 * a + 1, 3 * a + 2} : OpCost{2 * a + 1, a + 1};
  };
  // Second order (c > 0): ċ = <A, Ȧ> / c;   dȦ += (Ȧ G + A Ġ) / c - A G ċ / c²   (0 at A = 0, as the
  // backward)
  static constexpr OpDef<T> op{
      "norm",
      OpKind::custom,
      [](OpContext<T>& c) { c.out()(0, 0) = c.in(0).stableNorm(); },
      [](OpContext<T>& c) {
        const T n = c.out()(0, 0);
        if (!(n > T(0))) return;
        const T k = c.grad_out()(0, 0) / n;
        if (std::isfinite(k))
          c.grad_in(0) += k * c.in(0);
        else  // a subnormal norm: 1 / n overflows, A / n does not
          c.grad_in(0) += (c.in(0) / n) * c.grad_out()(0, 0);
      },
      cost,
      false,
      [](OpContext<T>& c) {
        const T n = c.out()(0, 0);
        c.tangent_out()(0, 0) = n > T(0) ? ((c.in(0).array() / n) * c.tangent_in(0).array()).sum() : T(0);
      },
      [](OpContext<T>& c) {
        const T n = c.out()(0, 0);
        if (!(n > T(0))) return;
        const T g = c.grad_out()(0, 0), dg = c.grad_out_tangent()(0, 0), dn = c.tangent_out()(0, 0);
        c.grad_in_tangent(0) += (g / n) * c.tangent_in(0) + (dg / n - (g * dn / n) / n) * c.in(0);
      }};
  return a.tape().record(op, {a}, 1, 1);
}

template <class T>
Var<T> rowwise_logsumexp(Var<T> a) {
  // c_i = log Σ_j exp(A_ij)   =>   dA_ij += softmax(A)_ij dc_i,   softmax(A)_ij = exp(A_ij - c_i)
  // (cost: detail::logsumexp_cost)
  if (a.cols() == 0) throw ShapeError("rowwise_logsumexp: a row of 0 columns has no logsumexp");
  static constexpr OpDef<T> op{"rowwise_logsumexp",
                               OpKind::custom,
                               [](OpContext<T>& c) {
                                 const auto& x = c.in(0);
                                 for (Index i = 0; i < x.rows(); ++i) {
                                   const T m = x.row(i).maxCoeff();
                                   // A row of -inf stays -inf; a row holding +inf is +inf.
                                   if (!std::isfinite(m)) {
                                     c.out()(i, 0) = m;
                                     continue;
                                   }
                                   c.out()(i, 0) = m + std::log((x.row(i).array() - m).exp().sum());
                                 }
                               },
                               [](OpContext<T>& c) {
                                 const auto& x = c.in(0);
                                 auto& g = c.grad_in(0);
                                 for (Index i = 0; i < x.rows(); ++i) {
                                   g.row(i).array() +=
                                       (x.row(i).array() - c.out()(i, 0)).exp() * c.grad_out()(i, 0);
                                 }
                               },
                               detail::logsumexp_cost,
                               false,
                               detail::lse_tangent<T, 1>,
                               detail::lse_tangent_backward<T, 1>};
  return a.tape().record(op, {a}, a.rows(), 1);
}

// clang-format off
#define TAPEGRAD_UNARY_OPS(X) \
  X(sum) X(mean) X(colwise_sum) X(rowwise_sum) X(colwise_mean) X(rowwise_mean) X(norm) \
  X(rowwise_logsumexp)
// clang-format on
TAPEGRAD_UNARY_OPS(TAPEGRAD_INSTANTIATE_UNARY)

}  // namespace tapegrad
