// Softmax and its family: softmax and log-softmax over each row or each column, logsumexp over each column
// or of everything, and the classification losses built on them (cross-entropy with integer labels or with
// target probabilities, binary cross-entropy with logits). Each subtracts the maximum before it
// exponentiates, so none overflows; exp, log, sigmoid and softplus go through detail::vec, a 256-entry chunk
// at a time on the stack or in detail::scratch, so a training step allocates nothing.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "../vecmath.hpp"
#include "costs.hpp"
#include "kernels.hpp"
#include "op_support.hpp"

namespace tapegrad {

namespace {

// The direction of a softmax node (its attr): normalise each row (PyTorch's dim=1) or each column (dim=0).
constexpr std::uint32_t kEachColumn = 0, kEachRow = 1;
constexpr Index kChunk = 256;

using detail::scratch;

// The ops' costs (docs/profiling.md's convention), a = the input's entries, k = the rows or columns
// normalised, r = the rows. softmax: 5a (max, -, exp, Σ, /); backward 5a (S ∘ dS, Σ, -, ∘, +=) reading S, dS.
OpCost softmax_cost(const OpShapes& s, bool backward) {
  const double a = detail::out_size(s);
  if (!backward) return {5 * a, 2 * a};
  return s.needs_grad[0] ? OpCost{5 * a, 4 * a} : OpCost{};
}

// log_softmax: 6a + k (the logsumexp's max, -, exp, Σ per entry and log per line, then (x - m) - ls);
// backward 5a (Σ dL, exp(L), ∘, -, +=) reading L, dL.
OpCost log_softmax_cost(const OpShapes& s, bool backward) {
  const double a = detail::out_size(s), k = double(s.attr == kEachRow ? s.rows : s.cols);
  if (!backward) return {6 * a + k, 2 * a};
  return s.needs_grad[0] ? OpCost{5 * a, 4 * a} : OpCost{};
}

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

// f(i, e, len) for consecutive chunks of x[0, n): e[k] = exp(x[i + k] - shift[i + k]) (shift_step 1) or
// exp(x[i + k] - shift[0]) (shift_step 0).
template <class T, class F>
void exp_chunks(const T* x, const T* shift, Index shift_step, Index n, F f) {
  alignas(64) T buf[kChunk];
  for (Index i = 0; i < n; i += kChunk) {
    const Index len = std::min(kChunk, n - i);
    for (Index k = 0; k < len; ++k) buf[k] = x[i + k] - shift[(i + k) * shift_step];
    detail::vec::exp(buf, buf, len);
    f(i, buf, len);
  }
}

// For each row i: m[i] = max_j x_ij and ls[i] = log Σ_j exp(x_ij - m_i), so that the row's logsumexp is
// m[i] + ls[i] (kept apart: (x - m) - ls loses nothing to the rounding of a large m + ls). A row whose
// maximum is not finite (every entry -inf; +inf; NaN) gets ls = 0: its logsumexp is that maximum.
template <class T>
void rows_logsumexp(const Matrix<T>& x, T* m, T* ls) {
  const Index r = x.rows();
  Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>(m, r) = x.rowwise().maxCoeff().array();
  Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>(ls, r).setZero();
  for (Index j = 0; j < x.cols(); ++j)
    exp_chunks(x.col(j).data(), m, 1, r, [&](Index i, const T* e, Index len) {
      for (Index k = 0; k < len; ++k) ls[i + k] += e[k];
    });
  detail::vec::log(ls, ls, r);
  for (Index i = 0; i < r; ++i)
    if (!std::isfinite(m[i])) ls[i] = T(0);
}

// The same for each column j: m[j] its maximum, ls[j] = log Σ_i exp(x_ij - m_j).
template <class T>
void cols_logsumexp(const Matrix<T>& x, T* m, T* ls) {
  for (Index j = 0; j < x.cols(); ++j) {
    m[j] = x.col(j).maxCoeff();
    ls[j] = T(0);
    if (!std::isfinite(m[j])) continue;
    T sum = T(0);
    exp_chunks(x.col(j).data(), &m[j], 0, x.rows(), [&](Index, const T* e, Index len) {
      for (Index k = 0; k < len; ++k) sum += e[k];
    });
    ls[j] = std::log(sum);
  }
}

// out = log_softmax(x) along dir: (x - m) - ls with m and ls of its row or column.
template <class T>
void log_softmax_forward(const Matrix<T>& x, Matrix<T>& out, std::uint32_t dir) {
  out.resize(x.rows(), x.cols());
  const bool rows = dir == kEachRow;
  const Index n = rows ? x.rows() : x.cols();
  T* m = scratch<T>(2 * n);
  T* ls = m + n;
  if (rows)
    rows_logsumexp(x, m, ls);
  else
    cols_logsumexp(x, m, ls);
  for (Index j = 0; j < x.cols(); ++j)
    for (Index i = 0; i < x.rows(); ++i) out(i, j) = (x(i, j) - m[rows ? i : j]) - ls[rows ? i : j];
}

// out = softmax(x) along dir: exp(x - m) / Σ exp(x - m), the sum over its row or column.
template <class T>
void softmax_forward_into(const Matrix<T>& x, Matrix<T>& out, std::uint32_t dir) {
  out.resize(x.rows(), x.cols());
  if (dir == kEachRow) {
    T* m = scratch<T>(2 * x.rows());
    Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>> mv(m, x.rows()), sv(m + x.rows(), x.rows());
    mv = x.rowwise().maxCoeff().array();
    out = x.array().colwise() - mv;
    detail::vec::exp(out.data(), out.data(), out.size());
    sv = out.array().rowwise().sum();
    out.array().colwise() /= sv;
  } else {
    for (Index j = 0; j < x.cols(); ++j) {
      const T m = x.col(j).maxCoeff();
      out.col(j).array() = x.col(j).array() - m;
      detail::vec::exp(out.col(j).data(), out.col(j).data(), x.rows());
      out.col(j) /= out.col(j).sum();
    }
  }
}

// sum[i] = Σ_j g_ij along dir (the row sums for kEachRow, the column sums otherwise), into scratch.
template <class T>
const T* sums_along(const Matrix<T>& g, std::uint32_t dir, T* sum) {
  if (dir == kEachRow)
    Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>(sum, g.rows()) = g.rowwise().sum().array();
  else
    Eigen::Map<Eigen::Array<T, 1, Eigen::Dynamic>>(sum, g.cols()) = g.colwise().sum().array();
  return sum;
}

template <class T>
void softmax_forward(OpContext<T>& c) {
  softmax_forward_into(c.in(0), c.out(), c.attr());
}

template <class T>
void softmax_backward(OpContext<T>& c) {
  // S = softmax(A)   =>   dA += S ∘ (dS - Σ(S ∘ dS)) with the sum along the softmax's direction
  const auto& s = c.out();
  const auto& g = c.grad_out();
  const bool rows = c.attr() == kEachRow;
  T* t = scratch<T>(rows ? s.rows() : s.cols());
  if (rows)
    Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>(t, s.rows()) = (s.array() * g.array()).rowwise().sum();
  else
    Eigen::Map<Eigen::Array<T, 1, Eigen::Dynamic>>(t, s.cols()) = (s.array() * g.array()).colwise().sum();
  for (Index j = 0; j < s.cols(); ++j)
    for (Index i = 0; i < s.rows(); ++i) c.grad_in(0)(i, j) += s(i, j) * (g(i, j) - t[rows ? i : j]);
}

template <class T>
void log_softmax_forward_op(OpContext<T>& c) {
  log_softmax_forward(c.in(0), c.out(), c.attr());
}

template <class T>
void log_softmax_backward(OpContext<T>& c) {
  // L = log_softmax(A)   =>   dA += dL - exp(L) ∘ Σ dL   with the sum along the direction
  const auto& l = c.out();
  const auto& g = c.grad_out();
  const bool rows = c.attr() == kEachRow;
  const T* t = sums_along(g, c.attr(), scratch<T>(rows ? l.rows() : l.cols()));
  const T zero = T(0);
  for (Index j = 0; j < l.cols(); ++j)
    exp_chunks(l.col(j).data(), &zero, 0, l.rows(), [&](Index i0, const T* e, Index len) {
      for (Index k = 0; k < len; ++k) c.grad_in(0)(i0 + k, j) += g(i0 + k, j) - e[k] * t[rows ? i0 + k : j];
    });
}

}  // namespace

namespace detail {

template <class T>
const OpDef<T>& softmax_op() {
  static constexpr OpDef<T> op{"softmax", OpKind::softmax, softmax_forward<T>, softmax_backward<T>,
                               softmax_cost};
  return op;
}
template <class T>
const OpDef<T>& log_softmax_op() {
  static constexpr OpDef<T> op{"log_softmax", OpKind::log_softmax, log_softmax_forward_op<T>,
                               log_softmax_backward<T>, log_softmax_cost};
  return op;
}

template <class T>
const OpDef<T>& softmax_cross_entropy_op() {
  // l = -Σ_ij Y_ij (X_ij - lse_i) / N   (lse_i: row i's logsumexp; N: the scalar, the row count)
  //   =>   dX_ij += (exp(X_ij - lse_i) Σ_k Y_ik - Y_ij) dl / N,   dY_ij -= (X_ij - lse_i) dl / N
  static constexpr OpDef<T> op{"softmax_cross_entropy", OpKind::custom,
                               [](OpContext<T>& c) {
                                 const auto &x = c.in(0), &y = c.in(1);
                                 T* m = scratch<T>(2 * x.rows());
                                 T* ls = m + x.rows();
                                 rows_logsumexp(x, m, ls);
                                 T total = T(0);
                                 for (Index j = 0; j < x.cols(); ++j)
                                   for (Index i = 0; i < x.rows(); ++i)
                                     total += y(i, j) * ((x(i, j) - m[i]) - ls[i]);
                                 c.out()(0, 0) = -total / c.scalar();
                               },
                               [](OpContext<T>& c) {
                                 const auto &x = c.in(0), &y = c.in(1);
                                 const Index r = x.rows();
                                 T* m = scratch<T>(3 * r);
                                 T* ls = m + r;
                                 rows_logsumexp(x, m, ls);
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
                               softmax_cross_entropy_cost};
  return op;
}

}  // namespace detail

template <class T>
Var<T> rowwise_softmax(Var<T> a) {
  // S = softmax of each row (softmax_backward)
  if (a.cols() == 0) throw ShapeError("rowwise_softmax: a row of 0 columns has no softmax");
  return a.tape().record(detail::softmax_op<T>(), {a}, a.rows(), a.cols(), T(0), kEachRow);
}
template <class T>
Var<T> colwise_softmax(Var<T> a) {
  // S = softmax of each column (softmax_backward)
  if (a.rows() == 0) throw ShapeError("colwise_softmax: a column of 0 rows has no softmax");
  return a.tape().record(detail::softmax_op<T>(), {a}, a.rows(), a.cols(), T(0), kEachColumn);
}
template <class T>
Var<T> rowwise_log_softmax(Var<T> a) {
  // L = log_softmax of each row (log_softmax_backward)
  if (a.cols() == 0) throw ShapeError("rowwise_log_softmax: a row of 0 columns has no log-softmax");
  return a.tape().record(detail::log_softmax_op<T>(), {a}, a.rows(), a.cols(), T(0), kEachRow);
}
template <class T>
Var<T> colwise_log_softmax(Var<T> a) {
  // L = log_softmax of each column (log_softmax_backward)
  if (a.rows() == 0) throw ShapeError("colwise_log_softmax: a column of 0 rows has no log-softmax");
  return a.tape().record(detail::log_softmax_op<T>(), {a}, a.rows(), a.cols(), T(0), kEachColumn);
}

template <class T>
Var<T> colwise_logsumexp(Var<T> a) {
  // c_j = log Σ_i exp(A_ij)   =>   dA_ij += exp(A_ij - c_j) dc_j
  if (a.rows() == 0) throw ShapeError("colwise_logsumexp: a column of 0 rows has no logsumexp");
  return a.tape().record(
      "colwise_logsumexp", {a}, 1, a.cols(),
      [](OpContext<T>& c) {
        const Index n = c.in(0).cols();
        T* m = scratch<T>(2 * n);
        cols_logsumexp(c.in(0), m, m + n);
        for (Index j = 0; j < n; ++j) c.out()(0, j) = m[j] + m[n + j];
      },
      [](OpContext<T>& c) {
        const auto& x = c.in(0);
        for (Index j = 0; j < x.cols(); ++j) {
          const T d = c.grad_out()(0, j);
          exp_chunks(x.col(j).data(), &c.out()(0, j), 0, x.rows(), [&](Index i0, const T* e, Index len) {
            for (Index k = 0; k < len; ++k) c.grad_in(0)(i0 + k, j) += e[k] * d;
          });
        }
      },
      T(0), detail::logsumexp_cost);
}

template <class T>
Var<T> logsumexp(Var<T> a) {
  // c = log Σ exp(A)   =>   dA += exp(A - c) dc
  if (a.rows() * a.cols() == 0)
    throw ShapeError("logsumexp: an empty " + detail::shape_of(a) + " matrix has no logsumexp");
  return a.tape().record(
      "logsumexp", {a}, 1, 1,
      [](OpContext<T>& c) {
        const auto& x = c.in(0);
        const T m = x.maxCoeff();
        if (!std::isfinite(m)) {
          c.out()(0, 0) = m;
          return;
        }
        T s = T(0);
        exp_chunks(x.data(), &m, 0, x.size(), [&](Index, const T* e, Index len) {
          for (Index k = 0; k < len; ++k) s += e[k];
        });
        c.out()(0, 0) = m + std::log(s);
      },
      [](OpContext<T>& c) {
        const T d = c.grad_out()(0, 0);
        T* g = c.grad_in(0).data();
        exp_chunks(c.in(0).data(), &c.out()(0, 0), 0, c.in(0).size(), [&](Index i0, const T* e, Index len) {
          for (Index k = 0; k < len; ++k) g[i0 + k] += e[k] * d;
        });
      },
      T(0), detail::logsumexp_cost);
}

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
                                 T* m = scratch<T>(2 * x.rows());
                                 T* ls = m + x.rows();
                                 rows_logsumexp(x, m, ls);
                                 T total = T(0);
                                 for (Index i = 0; i < x.rows(); ++i)
                                   total += ls[i] - (x(i, Index(y(i, 0))) - m[i]);
                                 c.out()(0, 0) = total / T(x.rows());
                               },
                               [](OpContext<T>& c) {
                                 if (!c.needs_grad(0)) return;
                                 const auto &x = c.in(0), &y = c.in(1);
                                 const Index r = x.rows();
                                 T* m = scratch<T>(2 * r);
                                 T* w = m + r;  // exp(-ls_i) dl / N: softmax_ij dl / N = exp(x_ij - m_i) w_i
                                 rows_logsumexp(x, m, w);
                                 const T k = c.grad_out()(0, 0) / T(r);
                                 for (Index i = 0; i < r; ++i) w[i] = std::exp(-w[i]) * k;
                                 auto& gx = c.grad_in(0);
                                 for (Index j = 0; j < x.cols(); ++j)
                                   exp_chunks(x.col(j).data(), m, 1, r, [&](Index i0, const T* e, Index len) {
                                     for (Index q = 0; q < len; ++q) gx(i0 + q, j) += e[q] * w[i0 + q];
                                   });
                                 for (Index i = 0; i < r; ++i) gx(i, Index(y(i, 0))) -= k;
                               },
                               cross_entropy_labels_cost};
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
  return t.record(
      "binary_cross_entropy_with_logits", {x, y}, 1, 1,
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
      T(0), bce_with_logits_cost);
}

#define TAPEGRAD_INSTANTIATE(T)                                        \
  template Var<T> rowwise_softmax<T>(Var<T>);                          \
  template Var<T> colwise_softmax<T>(Var<T>);                          \
  template Var<T> rowwise_log_softmax<T>(Var<T>);                      \
  template Var<T> colwise_log_softmax<T>(Var<T>);                      \
  template Var<T> colwise_logsumexp<T>(Var<T>);                        \
  template Var<T> logsumexp<T>(Var<T>);                                \
  template Var<T> cross_entropy<T>(Var<T>, const std::vector<Index>&); \
  template Var<T> cross_entropy<T>(Var<T>, Var<T>);                    \
  template Var<T> binary_cross_entropy_with_logits<T>(Var<T>, Var<T>); \
  template const OpDef<T>& detail::softmax_op<T>();                    \
  template const OpDef<T>& detail::log_softmax_op<T>();                \
  template const OpDef<T>& detail::softmax_cross_entropy_op<T>();
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace tapegrad
