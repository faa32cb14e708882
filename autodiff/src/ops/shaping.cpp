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

// Input k's block (k = 0: A, 1: B) of x shaped as a cat node's output (its value, gradient or their
// tangents): the node's attr is the dim.
template <class T, class M>
auto cat_block(OpContext<T>& c, M& x, int k) {
  const int d = int(c.attr());
  const Index na = d == 0 ? c.in(0).rows() : c.in(0).cols();
  return block_of(x, d, k == 0 ? 0 : na, d == 0 ? c.in(k).rows() : c.in(k).cols());
}

// The block a narrow node selects of x shaped as its input (the input's value, gradient or their tangents):
// the node's attr holds the start, and the dim in its lowest bit.
template <class T, class M>
auto narrow_block(OpContext<T>& c, M& x) {
  const int d = int(c.attr() & 1);
  return block_of(x, d, Index(c.attr() >> 1), d == 0 ? c.out().rows() : c.out().cols());
}

// index_select's copies, with ix the indices (an nx1 matrix): dst's row k (dim 0; dim 1: column k) = src's
// row ix_k, the forward on the values and the tangent on the tangents; and dst's row ix_k += src's row k, the
// backward on dC and the tangent backward on its tangent.
template <class T>
void gather(const Matrix<T>& ix, std::uint32_t dim, const Matrix<T>& src, Matrix<T>& dst) {
  for (Index k = 0; k < ix.rows(); ++k) {
    if (dim == 0)
      dst.row(k) = src.row(Index(ix(k, 0)));
    else
      dst.col(k) = src.col(Index(ix(k, 0)));
  }
}
template <class T>
void scatter_add(const Matrix<T>& ix, std::uint32_t dim, const Matrix<T>& src, Matrix<T>& dst) {
  for (Index k = 0; k < ix.rows(); ++k) {
    if (dim == 0)
      dst.row(Index(ix(k, 0))) += src.row(k);
    else
      dst.col(Index(ix(k, 0))) += src.col(k);
  }
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
                                 cat_block(c, c.out(), 0) = c.in(0);
                                 cat_block(c, c.out(), 1) = c.in(1);
                               },
                               [](OpContext<T>& c) {
                                 for (int k = 0; k < 2; ++k)
                                   if (c.needs_grad(k)) c.grad_in(k) += cat_block(c, c.grad_out(), k);
                               },
                               cat_cost, false,
                               // linear: Ċ = [Ȧ; Ḃ],   dȦ += the first block of Ġ, dḂ += the second
                               [](OpContext<T>& c) {
                                 cat_block(c, c.tangent_out(), 0) = c.tangent_in(0);
                                 cat_block(c, c.tangent_out(), 1) = c.tangent_in(1);
                               },
                               [](OpContext<T>& c) {
                                 for (int k = 0; k < 2; ++k)
                                   if (c.needs_grad(k))
                                     c.grad_in_tangent(k) += cat_block(c, c.grad_out_tangent(), k);
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
      "narrow", OpKind::custom, [](OpContext<T>& c) { c.out() = narrow_block(c, c.in(0)); },
      [](OpContext<T>& c) { narrow_block(c, c.grad_in(0)) += c.grad_out(); }, detail::unary_cost<0, 1, 0>,
      false,
      // linear: the same block of the tangents
      [](OpContext<T>& c) { c.tangent_out() = narrow_block(c, c.tangent_in(0)); },
      [](OpContext<T>& c) { narrow_block(c, c.grad_in_tangent(0)) += c.grad_out_tangent(); }};
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
  static constexpr OpDef<T> op{
      "index_select", OpKind::custom, [](OpContext<T>& c) { gather(c.in(1), c.attr(), c.in(0), c.out()); },
      [](OpContext<T>& c) {
        if (c.needs_grad(0)) scatter_add(c.in(1), c.attr(), c.grad_out(), c.grad_in(0));
      },
      index_select_cost, false,
      // linear: the same rows (columns) of the tangents; the indices have none
      [](OpContext<T>& c) { gather(c.in(1), c.attr(), c.tangent_in(0), c.tangent_out()); },
      [](OpContext<T>& c) {
        if (c.needs_grad(0)) scatter_add(c.in(1), c.attr(), c.grad_out_tangent(), c.grad_in_tangent(0));
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
