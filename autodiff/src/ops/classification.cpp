// The classification losses: cross-entropy with integer labels or with target probabilities (and the fused
// softmax_cross_entropy the graph optimizer makes of the literal formula), binary cross-entropy with logits.
// Each works from the stable logsumexp of each row (softmax_kernels.hpp); a training step allocates nothing.
#include <algorithm>
#include <cmath>
#include <string>

#include "costs.hpp"
#include "kernels.hpp"
#include "op_support.hpp"
#include "second_order.hpp"
#include "softmax_kernels.hpp"

namespace tapegrad {

using detail::exp_chunks;
using detail::kChunk;
using detail::rows_logsumexp;

namespace {

// The losses' costs (docs/profiling.md's convention), a = the logits' entries, r = their rows.
// cross_entropy with labels: 4a + r (each row's logsumexp) + 3r (lse - (x - m), Σ) + 1 (/ N), reading X and
// the labels; backward the logsumexp again, 1 (dl / N), 3r (the row weights), 4a (-, exp, ∘, +=), r (the
// label entries' -=), reading X, the labels and dl.
OpCost cross_entropy_labels_cost(const OpShapes& s, bool backward) {
  const double a = detail::in_size(s, 0), r = double(s.in_rows[0]);
  if (!backward) return {4 * a + 4 * r + 1, a + r + 1};
  return s.needs_grad[0] ? OpCost{8 * a + 5 * r + 1, 3 * a + r + 1} : OpCost{};
}

// cross_entropy with target probabilities: 4a + r (logsumexp) + 4a ((x - m) - ls, ∘ Y, Σ) + 2 (-, / N),
// reading X, Y; backward the logsumexp again and dl / N (4a + r + 1), then dX: a + 3r (the row weights) and
// 6a (-, exp, ∘,
// - Y, ∘ k, +=) reading Y; dY: 4a ((x - m) - ls, ∘ k, -=); each gradient read and written.
OpCost softmax_cross_entropy_cost(const OpShapes& s, bool backward) {
  const double a = detail::in_size(s, 0), r = double(s.in_rows[0]);
  if (!backward) return {8 * a + r + 2, 2 * a + 1};
  const bool gx = s.needs_grad[0], gy = s.needs_grad[1];
  if (!gx && !gy) return {};
  return {4 * a + r + 1 + (gx ? 7 * a + 3 * r : 0) + (gy ? 4 * a : 0),
          a + 1 + (gx ? 3 * a : 0) + (gy ? 2 * a : 0)};
}

// binary_cross_entropy_with_logits, n entries: 4n + 1 (softplus, ∘, -, Σ; / N) reading x, y; backward 1 (dl /
// N), dx 4n (sigmoid, -, ∘, +=) reading y, dy 2n (∘, -=), reading x and dl, each gradient read and written.
OpCost bce_with_logits_cost(const OpShapes& s, bool backward) {
  const double n = detail::in_size(s, 0);
  if (!backward) return {4 * n + 1, 2 * n + 1};
  const bool gx = s.needs_grad[0], gy = s.needs_grad[1];
  if (!gx && !gy) return {};
  return {1 + (gx ? 4 * n : 0) + (gy ? 2 * n : 0), n + 1 + (gx ? 3 * n : 0) + (gy ? 2 * n : 0)};
}

}  // namespace

namespace detail {

// Each row's logsumexp of the logits (input 0), as rows_logsumexp keeps it, in the node's work space: row
// maxima m[0, r) and log-sums m[r, 2r), followed by `extra` more r-entry slots for the caller. Returns m.
template <class T>
T* logits_rows_lse(OpContext<T>& c, Index extra = 0) {
  const Index r = c.in(0).rows();
  T* m = c.work((2 + extra) * r);
  rows_logsumexp(c.in(0), m, m + r);
  return m;
}

// Second order of l = -Σ Y ∘ L / N, L = log_softmax of each row of X, S = exp(L), σ_i = Σ_j S_ij Ẋ_ij:
//   L̇ = Ẋ - σ,   l̇ = -Σ (Ẏ ∘ L + Y ∘ L̇) / N;
//   the backward dX += (S r - Y) g / N, dY -= L g / N (r_i = Σ_j Y_ij) has the tangent
//   dẊ += ((Ṡ r + S ṙ - Ẏ) g + (S r - Y) ġ) / N,   dẎ -= (L̇ g + L ġ) / N,   Ṡ = S ∘ L̇.
// rows: m (row maxima), ls, σ, r, ṙ in the node's work space.
template <class T>
T* cross_entropy_rows(OpContext<T>& c) {
  const auto &x = c.in(0), &y = c.in(1), &tx = c.tangent_in(0), &ty = c.tangent_in(1);
  const Index r = x.rows();
  T* m = logits_rows_lse(c, 3);
  T *sigma = m + 2 * r, *rs = m + 3 * r, *drs = m + 4 * r;
  for (Index i = 0; i < r; ++i) sigma[i] = rs[i] = drs[i] = T(0);
  for (Index j = 0; j < x.cols(); ++j) {
    for (Index i = 0; i < r; ++i) {
      sigma[i] += std::exp((x(i, j) - m[i]) - m[r + i]) * tx(i, j);
      rs[i] += y(i, j);
      drs[i] += ty(i, j);
    }
  }
  return m;
}
template <class T>
void softmax_cross_entropy_tangent(OpContext<T>& c) {
  const auto &x = c.in(0), &y = c.in(1), &tx = c.tangent_in(0), &ty = c.tangent_in(1);
  const Index r = x.rows();
  const T* m = cross_entropy_rows(c);
  T total = T(0);
  for (Index j = 0; j < x.cols(); ++j)
    for (Index i = 0; i < r; ++i)
      total += ty(i, j) * ((x(i, j) - m[i]) - m[r + i]) + y(i, j) * (tx(i, j) - m[2 * r + i]);
  c.tangent_out()(0, 0) = -total / c.scalar();
}
template <class T>
void softmax_cross_entropy_tangent_backward(OpContext<T>& c) {
  const auto &x = c.in(0), &y = c.in(1), &tx = c.tangent_in(0), &ty = c.tangent_in(1);
  const Index r = x.rows();
  const T* m = cross_entropy_rows(c);
  const T g = c.grad_out()(0, 0) / c.scalar(), dg = c.grad_out_tangent()(0, 0) / c.scalar();
  for (Index j = 0; j < x.cols(); ++j) {
    for (Index i = 0; i < r; ++i) {
      const T l = (x(i, j) - m[i]) - m[r + i], s = std::exp(l), dl = tx(i, j) - m[2 * r + i];
      if (c.needs_grad(0))
        c.grad_in_tangent(0)(i, j) +=
            (s * dl * m[3 * r + i] + s * m[4 * r + i] - ty(i, j)) * g + (s * m[3 * r + i] - y(i, j)) * dg;
      if (c.needs_grad(1)) c.grad_in_tangent(1)(i, j) -= dl * g + l * dg;
    }
  }
}

template <class T>
const OpDef<T>& softmax_cross_entropy_op() {
  // l = -Σ_ij Y_ij (X_ij - lse_i) / N   (lse_i: row i's logsumexp; N: the scalar, the row count)
  //   =>   dX_ij += (exp(X_ij - lse_i) Σ_k Y_ik - Y_ij) dl / N,   dY_ij -= (X_ij - lse_i) dl / N
  static constexpr OpDef<T> op{"softmax_cross_entropy",
                               OpKind::custom,
                               [](OpContext<T>& c) {
                                 const auto &x = c.in(0), &y = c.in(1);
                                 const T* m = logits_rows_lse(c);
                                 const T* ls = m + x.rows();
                                 T total = T(0);
                                 for (Index j = 0; j < x.cols(); ++j)
                                   for (Index i = 0; i < x.rows(); ++i)
                                     total += y(i, j) * ((x(i, j) - m[i]) - ls[i]);
                                 c.out()(0, 0) = -total / c.scalar();
                               },
                               [](OpContext<T>& c) {
                                 const auto &x = c.in(0), &y = c.in(1);
                                 const Index r = x.rows();
                                 T* m = logits_rows_lse(c, 1);
                                 const T* ls = m + r;
                                 const T k = c.grad_out()(0, 0) / c.scalar();
                                 if (c.needs_grad(0)) {
                                   // softmax_ij Σ_k Y_ik = exp(x_ij - m_i) w_i with w_i = exp(-ls_i) Σ_k
                                   // Y_ik.
                                   T* w = m + 2 * r;
                                   for (Index i = 0; i < r; ++i) w[i] = std::exp(-ls[i]) * y.row(i).sum();
                                   auto& gx = c.grad_in(0);
                                   for (Index j = 0; j < x.cols(); ++j)
                                     exp_chunks(x.col(j).data(), m, 1, r,
                                                [&](Index i0, const T* e, Index len) {
                                                  for (Index q = 0; q < len; ++q)
                                                    gx(i0 + q, j) += (e[q] * w[i0 + q] - y(i0 + q, j)) * k;
                                                });
                                 }
                                 if (c.needs_grad(1)) {
                                   auto& gy = c.grad_in(1);
                                   for (Index j = 0; j < x.cols(); ++j)
                                     for (Index i = 0; i < r; ++i) gy(i, j) -= ((x(i, j) - m[i]) - ls[i]) * k;
                                 }
                               },
                               softmax_cross_entropy_cost,
                               false,
                               softmax_cross_entropy_tangent<T>,
                               softmax_cross_entropy_tangent_backward<T>};
  return op;
}

}  // namespace detail

template <class T>
Var<T> cross_entropy(Var<T> logits, const std::vector<Index>& labels) {
  // l = Σ_i (lse_i - X_{i, y_i}) / N   =>   dX_ij += (exp(X_ij - lse_i) - [j = y_i]) dl / N
  Tape<T>& t = logits.tape();
  t.check(logits, "cross_entropy");
  const Index n = logits.rows(), classes = logits.cols();
  if (Index(labels.size()) != n)
    throw ShapeError("cross_entropy: " + std::to_string(labels.size()) + " labels for the " +
                     std::to_string(n) + " rows of the logits " + detail::shape_of(logits) +
                     " (a row per sample)");
  if (n == 0) throw ShapeError("cross_entropy: the mean over 0 samples is undefined");
  for (Index i = 0; i < n; ++i) {
    const Index k = labels[std::size_t(i)];
    if (k < 0 || k >= classes)
      throw ShapeError("cross_entropy: label " + std::to_string(k) + " of sample " + std::to_string(i) +
                       " is not a class of the logits " + detail::shape_of(logits) + " (0 to " +
                       std::to_string(classes - 1) + ")");
  }
  // Evaluated straight into the node's kept buffer: re-recording allocates nothing.
  Var<T> yv =
      t.constant(Matrix<T>::NullaryExpr(n, 1, [&](Index i) { return T(labels[std::size_t(i)]); }), "labels");
  static constexpr OpDef<T> op{"cross_entropy", OpKind::custom,
                               [](OpContext<T>& c) {
                                 const auto &x = c.in(0), &y = c.in(1);
                                 const T* m = detail::logits_rows_lse(c);
                                 const T* ls = m + x.rows();
                                 T total = T(0);
                                 for (Index i = 0; i < x.rows(); ++i)
                                   total += ls[i] - (x(i, Index(y(i, 0))) - m[i]);
                                 c.out()(0, 0) = total / T(x.rows());
                               },
                               [](OpContext<T>& c) {
                                 if (!c.needs_grad(0)) return;
                                 const auto &x = c.in(0), &y = c.in(1);
                                 const Index r = x.rows();
                                 T* m = detail::logits_rows_lse(c);
                                 T* w = m + r;  // exp(-ls_i) dl / N: softmax_ij dl / N = exp(x_ij - m_i) w_i
                                 const T k = c.grad_out()(0, 0) / T(r);
                                 for (Index i = 0; i < r; ++i) w[i] = std::exp(-w[i]) * k;
                                 auto& gx = c.grad_in(0);
                                 for (Index j = 0; j < x.cols(); ++j)
                                   exp_chunks(x.col(j).data(), m, 1, r, [&](Index i0, const T* e, Index len) {
                                     for (Index q = 0; q < len; ++q) gx(i0 + q, j) += e[q] * w[i0 + q];
                                   });
                                 for (Index i = 0; i < r; ++i) gx(i, Index(y(i, 0))) -= k;
                               },
                               cross_entropy_labels_cost, false,
                               // l̇ = Σ_i (σ_i - Ẋ_{i, y_i}) / N,   σ_i = Σ_j S_ij Ẋ_ij
                               [](OpContext<T>& c) {
                                 const auto &x = c.in(0), &y = c.in(1), &tx = c.tangent_in(0);
                                 const Index r = x.rows();
                                 const T* m = detail::logits_rows_lse(c);
                                 T total = T(0);
                                 for (Index j = 0; j < x.cols(); ++j)
                                   for (Index i = 0; i < r; ++i)
                                     total += std::exp((x(i, j) - m[i]) - m[r + i]) * tx(i, j);
                                 for (Index i = 0; i < r; ++i) total -= tx(i, Index(y(i, 0)));
                                 c.tangent_out()(0, 0) = total / T(r);
                               },
                               // dẊ += (Ṡ g + (S - [j = y_i]) ġ) / N,   Ṡ = S ∘ (Ẋ - σ)
                               [](OpContext<T>& c) {
                                 if (!c.needs_grad(0)) return;
                                 const auto &x = c.in(0), &y = c.in(1), &tx = c.tangent_in(0);
                                 const Index r = x.rows();
                                 T* m = detail::logits_rows_lse(c, 1);
                                 T* sigma = m + 2 * r;
                                 for (Index i = 0; i < r; ++i) sigma[i] = T(0);
                                 for (Index j = 0; j < x.cols(); ++j)
                                   for (Index i = 0; i < r; ++i)
                                     sigma[i] += std::exp((x(i, j) - m[i]) - m[r + i]) * tx(i, j);
                                 const T g = c.grad_out()(0, 0) / T(r),
                                         dg = c.grad_out_tangent()(0, 0) / T(r);
                                 auto& out = c.grad_in_tangent(0);
                                 for (Index j = 0; j < x.cols(); ++j) {
                                   for (Index i = 0; i < r; ++i) {
                                     const T s = std::exp((x(i, j) - m[i]) - m[r + i]);
                                     out(i, j) += s * (tx(i, j) - sigma[i]) * g + s * dg;
                                   }
                                 }
                                 for (Index i = 0; i < r; ++i) out(i, Index(y(i, 0))) -= dg;
                               }};
  return t.record(op, {logits, yv}, 1, 1);
}

template <class T>
Var<T> cross_entropy(Var<T> logits, Var<T> target) {
  // l = -Σ_ij Y_ij log_softmax(X)_ij / N   (detail::softmax_cross_entropy_op)
  Tape<T>& t = detail::same_tape("cross_entropy", logits, target);
  if (logits.rows() != target.rows() || logits.cols() != target.cols())
    throw ShapeError("cross_entropy: the target's shape " + detail::shape_of(target) +
                     " differs from the logits' " + detail::shape_of(logits));
  if (logits.rows() == 0 || logits.cols() == 0)
    throw ShapeError("cross_entropy: empty logits " + detail::shape_of(logits));
  return t.record(detail::softmax_cross_entropy_op<T>(), {logits, target}, 1, 1, T(logits.rows()));
}

template <class T>
Var<T> binary_cross_entropy_with_logits(Var<T> x, Var<T> y) {
  // l = Σ (softplus(x) - x y) / N   =>   dx += (sigmoid(x) - y) dl / N,   dy -= x dl / N
  Tape<T>& t = detail::same_tape("binary_cross_entropy_with_logits", x, y);
  if (x.rows() != y.rows() || x.cols() != y.cols())
    throw ShapeError("binary_cross_entropy_with_logits: shapes " + detail::shape_of(x) + " and " +
                     detail::shape_of(y) + " differ");
  if (x.rows() * x.cols() == 0)
    throw ShapeError("binary_cross_entropy_with_logits: the mean of an empty " + detail::shape_of(x) +
                     " matrix is undefined");
  // Second order, k = g / N, σ = sigmoid(x):   l̇ = Σ ((σ - y) ẋ - x ẏ) / N;
  //   dẋ += (σ (1 - σ) ẋ - ẏ) k + (σ - y) k̇,   dẏ -= ẋ k + x k̇
  static constexpr OpDef<T> op{
      "binary_cross_entropy_with_logits",
      OpKind::custom,
      [](OpContext<T>& c) {
        const T *x = c.in(0).data(), *y = c.in(1).data();
        const Index n = c.in(0).size();
        alignas(64) T buf[kChunk];
        T total = T(0);
        for (Index i = 0; i < n; i += kChunk) {
          const Index len = std::min(kChunk, n - i);
          detail::vec::softplus(x + i, buf, len);
          for (Index k = 0; k < len; ++k) total += buf[k] - x[i + k] * y[i + k];
        }
        c.out()(0, 0) = total / T(n);
      },
      [](OpContext<T>& c) {
        const T *x = c.in(0).data(), *y = c.in(1).data();
        const Index n = c.in(0).size();
        const T k = c.grad_out()(0, 0) / T(n);
        if (c.needs_grad(0)) {
          alignas(64) T buf[kChunk];
          T* gx = c.grad_in(0).data();
          for (Index i = 0; i < n; i += kChunk) {
            const Index len = std::min(kChunk, n - i);
            detail::vec::sigmoid(x + i, buf, len);
            for (Index q = 0; q < len; ++q) gx[i + q] += (buf[q] - y[i + q]) * k;
          }
        }
        if (c.needs_grad(1)) c.grad_in(1) -= k * c.in(0);
      },
      bce_with_logits_cost,
      false,
      [](OpContext<T>& c) {
        const T *x = c.in(0).data(), *y = c.in(1).data(), *tx = c.tangent_in(0).data(),
                *ty = c.tangent_in(1).data();
        const Index n = c.in(0).size();
        T total = T(0);
        for (Index i = 0; i < n; ++i) total += (detail::DSoftplus::sigma(x[i]) - y[i]) * tx[i] - x[i] * ty[i];
        c.tangent_out()(0, 0) = total / T(n);
      },
      [](OpContext<T>& c) {
        const T *x = c.in(0).data(), *y = c.in(1).data(), *tx = c.tangent_in(0).data(),
                *ty = c.tangent_in(1).data();
        const Index n = c.in(0).size();
        const T k = c.grad_out()(0, 0) / T(n), dk = c.grad_out_tangent()(0, 0) / T(n);
        for (Index i = 0; i < n; ++i) {
          const T s = detail::DSoftplus::sigma(x[i]);
          if (c.needs_grad(0))
            c.grad_in_tangent(0).data()[i] += (s * (T(1) - s) * tx[i] - ty[i]) * k + (s - y[i]) * dk;
          if (c.needs_grad(1)) c.grad_in_tangent(1).data()[i] -= tx[i] * k + x[i] * dk;
        }
      }};
  return t.record(op, {x, y}, 1, 1);
}

#define TAPEGRAD_INSTANTIATE(T)                                        \
  template Var<T> cross_entropy<T>(Var<T>, const std::vector<Index>&); \
  template Var<T> cross_entropy<T>(Var<T>, Var<T>);                    \
  template Var<T> binary_cross_entropy_with_logits<T>(Var<T>, Var<T>); \
  template const OpDef<T>& detail::softmax_cross_entropy_op<T>();
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace tapegrad
