// Shaping: concatenation, slicing, row or column selection by index, reshape. None computes anything: each
// copies blocks forward and adds them back backward.
#include <string>

#include "costs.hpp"
#include "op_support.hpp"

namespace tapegrad {

namespace {

void check_dim(const char* op, int dim) {
  if (dim != 0 && dim != 1)
    throw ShapeError(std::string(op) + ": dim must be 0 (rows) or 1 (columns), not " + std::to_string(dim));
}

// cat's cost: no FLOPs, a copy of A and B; backward per input with a gradient its entries in adds, reading
// its block of dC, the gradient read and written.
OpCost cat_cost(const OpShapes& s, bool backward) {
  if (!backward) return {0, 2 * detail::out_size(s)};
  OpCost c;
  for (int k = 0; k < 2; ++k)
    if (s.needs_grad[k]) c = {c.flops + detail::in_size(s, k), c.elements + 3 * detail::in_size(s, k)};
  return c;
}

// index_select's cost, n entries selected by m indices: no FLOPs, a copy reading the indices; backward n
// adds.
OpCost index_select_cost(const OpShapes& s, bool backward) {
  const double n = detail::out_size(s), m = detail::in_size(s, 1);
  if (!backward) return {0, 2 * n + m};
  if (!s.needs_grad[0]) return {};
  return {n, 3 * n + m};
}

// A block of x: `len` rows (dim 0) or columns (dim 1) from `start`.
template <class M>
auto block_of(M& x, int dim, Index start, Index len) {
  return dim == 0 ? x.block(start, 0, len, x.cols()) : x.block(0, start, x.rows(), len);
}

}  // namespace

template <class T>
Var<T> cat(Var<T> a, Var<T> b, int dim) {
  // C = [A; B] (dim 0) or [A, B] (dim 1)   =>   dA += the first block of dC, dB += the second
  check_dim("cat", dim);
  Tape<T>& t = detail::same_tape("cat", a, b);
  if (dim == 0 ? a.cols() != b.cols() : a.rows() != b.rows())
    throw ShapeError(
        "cat: cannot join " + detail::shape_of(a) + " and " + detail::shape_of(b) +
        (dim == 0 ? " along dim 0 (the column counts differ)" : " along dim 1 (the row counts differ)"));
  const Index rows = dim == 0 ? a.rows() + b.rows() : a.rows();
  const Index cols = dim == 0 ? a.cols() : a.cols() + b.cols();
  static constexpr OpDef<T> op{"cat", OpKind::custom,
                               [](OpContext<T>& c) {
                                 const int d = int(c.attr());
                                 const Index na = d == 0 ? c.in(0).rows() : c.in(0).cols();
                                 const Index nb = d == 0 ? c.in(1).rows() : c.in(1).cols();
                                 block_of(c.out(), d, 0, na) = c.in(0);
                                 block_of(c.out(), d, na, nb) = c.in(1);
                               },
                               [](OpContext<T>& c) {
                                 const int d = int(c.attr());
                                 const Index na = d == 0 ? c.in(0).rows() : c.in(0).cols();
                                 const Index nb = d == 0 ? c.in(1).rows() : c.in(1).cols();
                                 if (c.needs_grad(0)) c.grad_in(0) += block_of(c.grad_out(), d, 0, na);
                                 if (c.needs_grad(1)) c.grad_in(1) += block_of(c.grad_out(), d, na, nb);
                               },
                               cat_cost, false,
                               // linear: Ċ = [Ȧ; Ḃ],   dȦ += the first block of Ġ, dḂ += the second
                               [](OpContext<T>& c) {
                                 const int d = int(c.attr());
                                 const Index na = d == 0 ? c.in(0).rows() : c.in(0).cols();
                                 const Index nb = d == 0 ? c.in(1).rows() : c.in(1).cols();
                                 block_of(c.tangent_out(), d, 0, na) = c.tangent_in(0);
                                 block_of(c.tangent_out(), d, na, nb) = c.tangent_in(1);
                               },
                               [](OpContext<T>& c) {
                                 const int d = int(c.attr());
                                 const Index na = d == 0 ? c.in(0).rows() : c.in(0).cols();
                                 const Index nb = d == 0 ? c.in(1).rows() : c.in(1).cols();
                                 const auto& dg = c.grad_out_tangent();
                                 if (c.needs_grad(0)) c.grad_in_tangent(0) += block_of(dg, d, 0, na);
                                 if (c.needs_grad(1)) c.grad_in_tangent(1) += block_of(dg, d, na, nb);
                               }};
  return t.record(op, {a, b}, rows, cols, T(0), std::uint32_t(dim));
}

template <class T>
Var<T> narrow(Var<T> a, int dim, Index start, Index length) {
  // C = A[start : start + length] along dim   =>   that block of dA += dC
  check_dim("narrow", dim);
  const Index n = dim == 0 ? a.rows() : a.cols();
  if (start < 0 || length < 0 || start + length > n || start > Index(0x7fffffff))
    throw ShapeError("narrow: " + std::string(dim == 0 ? "rows [" : "columns [") + std::to_string(start) +
                     ", " + std::to_string(start + length) + ") are not within " + detail::shape_of(a));
  static constexpr OpDef<T> op{
      "narrow", OpKind::custom,
      [](OpContext<T>& c) {
        const int d = int(c.attr() & 1);
        const Index s = Index(c.attr() >> 1);
        c.out() = block_of(c.in(0), d, s, d == 0 ? c.out().rows() : c.out().cols());
      },
      [](OpContext<T>& c) {
        const int d = int(c.attr() & 1);
        const Index s = Index(c.attr() >> 1);
        block_of(c.grad_in(0), d, s, d == 0 ? c.out().rows() : c.out().cols()) += c.grad_out();
      },
      detail::unary_cost<0, 1, 0>, false,
      // linear: the same block of the tangents
      [](OpContext<T>& c) {
        const int d = int(c.attr() & 1);
        const Index s = Index(c.attr() >> 1);
        c.tangent_out() = block_of(c.tangent_in(0), d, s, d == 0 ? c.out().rows() : c.out().cols());
      },
      [](OpContext<T>& c) {
        const int d = int(c.attr() & 1);
        const Index s = Index(c.attr() >> 1);
        block_of(c.grad_in_tangent(0), d, s, d == 0 ? c.out().rows() : c.out().cols()) +=
            c.grad_out_tangent();
      }};
  // attr: the start and the dim in its lowest bit (a node has one integer parameter).
  return a.tape().record(op, {a}, dim == 0 ? length : a.rows(), dim == 0 ? a.cols() : length, T(0),
                         (std::uint32_t(start) << 1) | std::uint32_t(dim));
}

template <class T>
Var<T> index_select(Var<T> a, int dim, const std::vector<Index>& indices) {
  // C_k = A_{indices[k]} (rows for dim 0, columns for dim 1)   =>   dA_{indices[k]} += dC_k
  check_dim("index_select", dim);
  Tape<T>& t = a.tape();
  t.check(a, "index_select");
  const Index n = dim == 0 ? a.rows() : a.cols();
  // The indices travel as a constant node's values: exact in T below 2^digits.
  constexpr Index kExact = Index(1) << std::numeric_limits<T>::digits;
  for (std::size_t k = 0; k < indices.size(); ++k) {
    const Index i = indices[k];
    if (i < 0 || i >= n || i >= kExact)
      throw ShapeError("index_select: index " + std::to_string(i) + " (entry " + std::to_string(k) +
                       ") is out of range for the " + std::to_string(n) +
                       (dim == 0 ? " rows of " : " columns of ") + detail::shape_of(a));
  }
  // Evaluated straight into the node's kept buffer: re-recording allocates nothing.
  Var<T> iv = t.constant(
      Matrix<T>::NullaryExpr(Index(indices.size()), 1, [&](Index k) { return T(indices[std::size_t(k)]); }),
      "indices");
  static constexpr OpDef<T> op{"index_select", OpKind::custom,
                               [](OpContext<T>& c) {
                                 const auto& ix = c.in(1);
                                 for (Index k = 0; k < ix.rows(); ++k) {
                                   if (c.attr() == 0)
                                     c.out().row(k) = c.in(0).row(Index(ix(k, 0)));
                                   else
                                     c.out().col(k) = c.in(0).col(Index(ix(k, 0)));
                                 }
                               },
                               [](OpContext<T>& c) {
                                 if (!c.needs_grad(0)) return;
                                 const auto& ix = c.in(1);
                                 for (Index k = 0; k < ix.rows(); ++k) {
                                   if (c.attr() == 0)
                                     c.grad_in(0).row(Index(ix(k, 0))) += c.grad_out().row(k);
                                   else
                                     c.grad_in(0).col(Index(ix(k, 0))) += c.grad_out().col(k);
                                 }
                               },
                               index_select_cost, false,
                               // linear: the same rows (columns) of the tangents; the indices have none
                               [](OpContext<T>& c) {
                                 const auto& ix = c.in(1);
                                 for (Index k = 0; k < ix.rows(); ++k) {
                                   if (c.attr() == 0)
                                     c.tangent_out().row(k) = c.tangent_in(0).row(Index(ix(k, 0)));
                                   else
                                     c.tangent_out().col(k) = c.tangent_in(0).col(Index(ix(k, 0)));
                                 }
                               },
                               [](OpContext<T>& c) {
                                 if (!c.needs_grad(0)) return;
                                 const auto& ix = c.in(1);
                                 for (Index k = 0; k < ix.rows(); ++k) {
                                   if (c.attr() == 0)
                                     c.grad_in_tangent(0).row(Index(ix(k, 0))) += c.grad_out_tangent().row(k);
                                   else
                                     c.grad_in_tangent(0).col(Index(ix(k, 0))) += c.grad_out_tangent().col(k);
                                 }
                               }};
  const Index m = Index(indices.size());
  return t.record(op, {a, iv}, dim == 0 ? m : a.rows(), dim == 0 ? a.cols() : m, T(0), std::uint32_t(dim));
}

template <class T>
Var<T> reshape(Var<T> a, Index rows, Index cols) {
  // C = A's entries in column-major order as rows x cols   =>   dA += dC read back in A's shape
  if (rows < 0 || cols < 0 || rows * cols != a.rows() * a.cols())
    throw ShapeError("reshape: cannot lay out the " + std::to_string(a.rows() * a.cols()) + " entries of " +
                     detail::shape_of(a) + " as " + shape_string(rows, cols));
  static constexpr OpDef<T> op{
      "reshape", OpKind::custom,
      [](OpContext<T>& c) {
        c.out() = Eigen::Map<const Matrix<T>>(c.in(0).data(), c.out().rows(), c.out().cols());
      },
      [](OpContext<T>& c) {
        Eigen::Map<Matrix<T>>(c.grad_in(0).data(), c.out().rows(), c.out().cols()) += c.grad_out();
      },
      detail::unary_cost<0, 1, 0>, false,
      // linear: the tangents reshaped alike
      [](OpContext<T>& c) {
        c.tangent_out() = Eigen::Map<const Matrix<T>>(c.tangent_in(0).data(), c.out().rows(), c.out().cols());
      },
      [](OpContext<T>& c) {
        Eigen::Map<Matrix<T>>(c.grad_in_tangent(0).data(), c.out().rows(), c.out().cols()) +=
            c.grad_out_tangent();
      }};
  return a.tape().record(op, {a}, rows, cols);
}

#define TAPEGRAD_INSTANTIATE(T)                                            \
  template Var<T> cat<T>(Var<T>, Var<T>, int);                             \
  template Var<T> narrow<T>(Var<T>, int, Index, Index);                    \
  template Var<T> index_select<T>(Var<T>, int, const std::vector<Index>&); \
  template Var<T> reshape<T>(Var<T>, Index, Index);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace tapegrad
