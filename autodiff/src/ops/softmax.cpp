// Softmax and its family: softmax and log-softmax over each row or each column, logsumexp over each column
// or of everything (the classification losses built on them are in classification.cpp). Each subtracts the
// maximum before it exponentiates, so none overflows; exp, log, sigmoid and softplus go through detail::vec,
// a 256-entry chunk at a time on the stack, and per-row or per-column sums go to the node's own work space
// (OpContext::work), so a training step allocates nothing.
#include <algorithm>
#include <array>
#include <cmath>
#include <string>

#include "costs.hpp"
#include "kernels.hpp"
#include "op_support.hpp"
#include "second_order.hpp"
#include "softmax_kernels.hpp"

namespace tapegrad {

namespace {

using detail::cols_logsumexp;
using detail::exp_chunks;
using detail::kEachColumn;
using detail::kEachRow;
using detail::rows_logsumexp;

// The ops' costs (docs/profiling.md's convention), a = the input's entries, k = the rows or columns
// normalised. softmax: 5a (max, -, exp, Σ, /); backward 5a (S ∘ dS, Σ, -, ∘, +=) reading S, dS.
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

// out = log_softmax(x) along dir: (x - m) - ls with m and ls of its row or column.
template <class T>
void log_softmax_forward(const Matrix<T>& x, Matrix<T>& out, std::uint32_t dir, T* work) {
  out.resize(x.rows(), x.cols());
  const bool rows = dir == kEachRow;
  const Index n = rows ? x.rows() : x.cols();
  T* m = work;  // 2n entries
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
void softmax_forward_into(const Matrix<T>& x, Matrix<T>& out, std::uint32_t dir, T* work) {
  out.resize(x.rows(), x.cols());
  if (dir == kEachRow) {
    T* m = work;  // 2 x.rows() entries
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

// sum[i] = Σ_j g_ij along dir (the row sums for kEachRow, the column sums otherwise), into sum.
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
  softmax_forward_into(c.in(0), c.out(), c.attr(), c.work(2 * c.in(0).rows()));
}

template <class T>
void softmax_backward(OpContext<T>& c) {
  // S = softmax(A)   =>   dA += S ∘ (dS - Σ(S ∘ dS)) with the sum along the softmax's direction
  const auto& s = c.out();
  const auto& g = c.grad_out();
  const bool rows = c.attr() == kEachRow;
  T* t = c.work(rows ? s.rows() : s.cols());
  if (rows)
    Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>(t, s.rows()) = (s.array() * g.array()).rowwise().sum();
  else
    Eigen::Map<Eigen::Array<T, 1, Eigen::Dynamic>>(t, s.cols()) = (s.array() * g.array()).colwise().sum();
  for (Index j = 0; j < s.cols(); ++j)
    for (Index i = 0; i < s.rows(); ++i) c.grad_in(0)(i, j) += s(i, j) * (g(i, j) - t[rows ? i : j]);
}

template <class T>
void log_softmax_forward_op(OpContext<T>& c) {
  log_softmax_forward(c.in(0), c.out(), c.attr(),
                      c.work(2 * (c.attr() == kEachRow ? c.in(0).rows() : c.in(0).cols())));
}

template <class T>
void log_softmax_backward(OpContext<T>& c) {
  // L = log_softmax(A)   =>   dA += dL - exp(L) ∘ Σ dL   with the sum along the direction
  const auto& l = c.out();
  const auto& g = c.grad_out();
  const bool rows = c.attr() == kEachRow;
  const T* t = sums_along(g, c.attr(), c.work(rows ? l.rows() : l.cols()));
  const T zero = T(0);
  for (Index j = 0; j < l.cols(); ++j)
    exp_chunks(l.col(j).data(), &zero, 0, l.rows(), [&](Index i0, const T* e, Index len) {
      for (Index k = 0; k < len; ++k) c.grad_in(0)(i0 + k, j) += g(i0 + k, j) - e[k] * t[rows ? i0 + k : j];
    });
}

// For each of the functions f: sum[k] = Σ f(i, j) along the node's direction (k = i for each row, j for each
// column) over a rows x cols matrix, into consecutive blocks of the node's work space; returns the sums.
template <class T, class... F>
std::array<const T*, sizeof...(F)> sums_of(OpContext<T>& c, Index rows, Index cols, F... f) {
  const bool each_row = c.attr() == kEachRow;
  const Index n = each_row ? rows : cols;
  T* sum = c.work(Index(sizeof...(F)) * n);
  std::array<const T*, sizeof...(F)> out;
  std::size_t q = 0;
  auto one = [&](auto fq) {
    T* s = sum + Index(q) * n;
    for (Index k = 0; k < n; ++k) s[k] = T(0);
    for (Index j = 0; j < cols; ++j)
      for (Index i = 0; i < rows; ++i) s[each_row ? i : j] += fq(i, j);
    out[q++] = s;
  };
  (one(f), ...);
  return out;
}

// Second order of softmax, Σ along its direction:   Ṡ = S ∘ (Ȧ - Σ S ∘ Ȧ);   the backward dA += S ∘ (G - u),
// u = Σ S ∘ G, has the tangent   dȦ += Ṡ ∘ (G - u) + S ∘ (Ġ - u̇),   u̇ = Σ (Ṡ ∘ G + S ∘ Ġ).
template <class T>
void softmax_tangent(OpContext<T>& c) {
  const auto &s = c.out(), &ta = c.tangent_in(0);
  const bool rows = c.attr() == kEachRow;
  const auto [t] = sums_of(c, s.rows(), s.cols(), [&](Index i, Index j) { return s(i, j) * ta(i, j); });
  auto& o = c.tangent_out();
  for (Index j = 0; j < s.cols(); ++j)
    for (Index i = 0; i < s.rows(); ++i) o(i, j) = s(i, j) * (ta(i, j) - t[rows ? i : j]);
}
template <class T>
void softmax_tangent_backward(OpContext<T>& c) {
  const auto &s = c.out(), &ts = c.tangent_out(), &g = c.grad_out(), &dg = c.grad_out_tangent();
  const bool rows = c.attr() == kEachRow;
  const auto [u, du] = sums_of(
      c, s.rows(), s.cols(), [&](Index i, Index j) { return s(i, j) * g(i, j); },
      [&](Index i, Index j) { return ts(i, j) * g(i, j) + s(i, j) * dg(i, j); });
  auto& out = c.grad_in_tangent(0);
  for (Index j = 0; j < s.cols(); ++j) {
    for (Index i = 0; i < s.rows(); ++i) {
      const Index k = rows ? i : j;
      out(i, j) += ts(i, j) * (g(i, j) - u[k]) + s(i, j) * (dg(i, j) - du[k]);
    }
  }
}

// Second order of log-softmax, S = exp(L):   L̇ = Ȧ - Σ S ∘ Ȧ;   the backward dA += G - S Σ G has the tangent
// dȦ += Ġ - Ṡ Σ G - S Σ Ġ,   Ṡ = S ∘ L̇.
template <class T>
void log_softmax_tangent(OpContext<T>& c) {
  const auto &l = c.out(), &ta = c.tangent_in(0);
  const bool rows = c.attr() == kEachRow;
  const auto [t] =
      sums_of(c, l.rows(), l.cols(), [&](Index i, Index j) { return std::exp(l(i, j)) * ta(i, j); });
  auto& o = c.tangent_out();
  for (Index j = 0; j < l.cols(); ++j)
    for (Index i = 0; i < l.rows(); ++i) o(i, j) = ta(i, j) - t[rows ? i : j];
}
template <class T>
void log_softmax_tangent_backward(OpContext<T>& c) {
  const auto &l = c.out(), &tl = c.tangent_out(), &g = c.grad_out(), &dg = c.grad_out_tangent();
  const bool rows = c.attr() == kEachRow;
  const auto [u, du] = sums_of(
      c, l.rows(), l.cols(), [&](Index i, Index j) { return g(i, j); },
      [&](Index i, Index j) { return dg(i, j); });
  auto& out = c.grad_in_tangent(0);
  for (Index j = 0; j < l.cols(); ++j) {
    for (Index i = 0; i < l.rows(); ++i) {
      const Index k = rows ? i : j;
      const T e = std::exp(l(i, j));
      out(i, j) += dg(i, j) - e * tl(i, j) * u[k] - e * du[k];
    }
  }
}

}  // namespace

namespace detail {

template <class T>
const OpDef<T>& softmax_op() {
  static constexpr OpDef<T> op{
      "softmax",    OpKind::softmax, softmax_forward<T>, softmax_backward<T>,
      softmax_cost, false,           softmax_tangent<T>, softmax_tangent_backward<T>};
  return op;
}
template <class T>
const OpDef<T>& log_softmax_op() {
  static constexpr OpDef<T> op{"log_softmax",
                               OpKind::log_softmax,
                               log_softmax_forward_op<T>,
                               log_softmax_backward<T>,
                               log_softmax_cost,
                               false,
                               log_softmax_tangent<T>,
                               log_softmax_tangent_backward<T>};
  return op;
}

}  // namespace detail

namespace {

// Records op (softmax or log-softmax) normalising each row (dir kEachRow) or each column of a. A row of 0
// columns (a column of 0 rows) has no softmax: ShapeError "<name>: a row of 0 columns has no <what>".
template <class T>
Var<T> record_normalisation(const OpDef<T>& op, const Var<T>& a, std::uint32_t dir, const char* name,
                            const char* what) {
  const bool rows = dir == kEachRow;
  if ((rows ? a.cols() : a.rows()) == 0)
    throw ShapeError(std::string(name) + (rows ? ": a row of 0 columns" : ": a column of 0 rows") +
                     " has no " + what);
  return a.tape().record(op, {a}, a.rows(), a.cols(), T(0), dir);
}

}  // namespace

template <class T>
Var<T> rowwise_softmax(Var<T> a) {
  // S = softmax of each row (softmax_backward)
  return record_normalisation(detail::softmax_op<T>(), a, kEachRow, "rowwise_softmax", "softmax");
}
template <class T>
Var<T> colwise_softmax(Var<T> a) {
  // S = softmax of each column (softmax_backward)
  return record_normalisation(detail::softmax_op<T>(), a, kEachColumn, "colwise_softmax", "softmax");
}
template <class T>
Var<T> rowwise_log_softmax(Var<T> a) {
  // L = log_softmax of each row (log_softmax_backward)
  return record_normalisation(detail::log_softmax_op<T>(), a, kEachRow, "rowwise_log_softmax", "log-softmax");
}
template <class T>
Var<T> colwise_log_softmax(Var<T> a) {
  // L = log_softmax of each column (log_softmax_backward)
  return record_normalisation(detail::log_softmax_op<T>(), a, kEachColumn, "colwise_log_softmax",
                              "log-softmax");
}

template <class T>
Var<T> colwise_logsumexp(Var<T> a) {
  // c_j = log Σ_i exp(A_ij)   =>   dA_ij += exp(A_ij - c_j) dc_j
  if (a.rows() == 0) throw ShapeError("colwise_logsumexp: a column of 0 rows has no logsumexp");
  static constexpr OpDef<T> op{"colwise_logsumexp",
                               OpKind::custom,
                               [](OpContext<T>& c) {
                                 const Index n = c.in(0).cols();
                                 T* m = c.work(2 * n);
                                 cols_logsumexp(c.in(0), m, m + n);
                                 for (Index j = 0; j < n; ++j) c.out()(0, j) = m[j] + m[n + j];
                               },
                               [](OpContext<T>& c) {
                                 const auto& x = c.in(0);
                                 for (Index j = 0; j < x.cols(); ++j) {
                                   const T d = c.grad_out()(0, j);
                                   exp_chunks(x.col(j).data(), &c.out()(0, j), 0, x.rows(),
                                              [&](Index i0, const T* e, Index len) {
                                                for (Index k = 0; k < len; ++k)
                                                  c.grad_in(0)(i0 + k, j) += e[k] * d;
                                              });
                                 }
                               },
                               detail::logsumexp_cost,
                               false,
                               detail::lse_tangent<T, 2>,
                               detail::lse_tangent_backward<T, 2>};
  return a.tape().record(op, {a}, 1, a.cols());
}

template <class T>
Var<T> logsumexp(Var<T> a) {
  // c = log Σ exp(A)   =>   dA += exp(A - c) dc
  if (a.rows() * a.cols() == 0)
    throw ShapeError("logsumexp: an empty " + detail::shape_of(a) + " matrix has no logsumexp");
  static constexpr OpDef<T> op{"logsumexp",
                               OpKind::custom,
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
                                 exp_chunks(c.in(0).data(), &c.out()(0, 0), 0, c.in(0).size(),
                                            [&](Index i0, const T* e, Index len) {
                                              for (Index k = 0; k < len; ++k) g[i0 + k] += e[k] * d;
                                            });
                               },
                               detail::logsumexp_cost,
                               false,
                               detail::lse_tangent<T, 0>,
                               detail::lse_tangent_backward<T, 0>};
  return a.tape().record(op, {a}, 1, 1);
}

// clang-format off
#define TAPEGRAD_UNARY_OPS(X) \
  X(rowwise_softmax) X(colwise_softmax) X(rowwise_log_softmax) X(colwise_log_softmax) \
  X(colwise_logsumexp) X(logsumexp)
// clang-format on
TAPEGRAD_UNARY_OPS(TAPEGRAD_INSTANTIATE_UNARY)
#define TAPEGRAD_INSTANTIATE(T)                     \
  template const OpDef<T>& detail::softmax_op<T>(); \
  template const OpDef<T>& detail::log_softmax_op<T>();
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace tapegrad
