// The ops: each records one node on its inputs' tape. Shapes are checked when the node is
// recorded; a mismatch throws ShapeError naming the op and the shapes. Each op's forward,
// backward and derivative live together in one function in autodiff/src/ops/*.cpp.
//
// Binary arithmetic (add, sub, mul, div) broadcasts like NumPy in two dimensions: each dimension
// of each operand equals the other's or is 1, so a 1xC row vector (bias) applies to every row,
// an Rx1 column vector to every column, and a 1x1 to everything.
#pragma once

#include <type_traits>
#include <utility>
#include <vector>

#include "tapegrad/autodiff/tape.hpp"

namespace tapegrad {

// Each op's comment gives its value C and its derivative as the backward pass applies it: G is the gradient
// of the loss with respect to C (same shape as C), and dA the gradient it adds to input A. Products and
// quotients of matrices in the derivatives are elementwise unless they are written A B (matrix product).

// ---- linear algebra (ops/linalg.cpp) -------------------------------------------------------
/// C = A B (matrix product, through BLAS for large sizes). dA = G Bᵀ, dB = Aᵀ G.
template <class T>
Var<T> matmul(Var<T> a, Var<T> b);
/// C = A Bᵀ in one node: the same value and gradients as matmul(a, transpose(b)), without forming Bᵀ (the
/// transpose is passed to GEMM as a flag, forward and backward). dA = G B, dB = Gᵀ A.
template <class T>
Var<T> matmul_nt(Var<T> a, Var<T> b);
/// C = Aᵀ. dA = Gᵀ.
template <class T>
Var<T> transpose(Var<T> a);
/// Both ways, as numpy.diag: a vector v (1xn or nx1) becomes the nxn matrix C = diag(v), dv = diagonal of G
/// (shaped as v); a square matrix A gives its diagonal as an nx1 vector c, dA = diag(G) (zero off the
/// diagonal).
template <class T>
Var<T> diag(Var<T> a);
/// C = A diag(v): scales column j of A by v_j, without forming diag(v). v is 1xn or nx1 for an mxn A.
/// dA = G diag(v), dv_j = Σ_i G_ij A_ij.
template <class T>
Var<T> scale_columns(Var<T> a, Var<T> v);
/// C = diag(v) B: scales row i of B by v_i, without forming diag(v). v is 1xm or mx1 for an mxn B.
/// dB = diag(v) G, dv_i = Σ_j G_ij B_ij.
template <class T>
Var<T> scale_rows(Var<T> v, Var<T> b);
/// C = AᵀA, the Gram matrix of A's columns (symmetric; one product forward and one backward).
/// dA = A (G + Gᵀ).
template <class T>
Var<T> crossprod(Var<T> a);
/// C = A Aᵀ, the Gram matrix of A's rows: matmul(a, transpose(a)) as a symmetric rank-k update (half the work
/// forward, one product backward). dA = (G + Gᵀ) A.
template <class T>
Var<T> tcrossprod(Var<T> a);
/// The former name of crossprod (Stan Math's name since), kept so code using it compiles.
template <class T>
[[deprecated("use crossprod")]] inline Var<T> gram(Var<T> a) {
  return crossprod(a);
}
/// The former name of tcrossprod (Stan Math's name since), kept so code using it compiles.
template <class T>
[[deprecated("use tcrossprod")]] inline Var<T> gram_rows(Var<T> a) {
  return tcrossprod(a);
}

// ---- arithmetic with broadcasting (ops/arithmetic.cpp) --------------------------------------
// Broadcasting: an operand of size 1 along a dimension is repeated along it; its gradient is then summed
// along that dimension back to its shape.
/// C = A + B, broadcasting. dA = G, dB = G (each summed to its operand's shape).
template <class T>
Var<T> add(Var<T> a, Var<T> b);
/// C = A - B, broadcasting. dA = G, dB = -G (each summed to its operand's shape).
template <class T>
Var<T> sub(Var<T> a, Var<T> b);
/// C = A ∘ B, the elementwise (Hadamard) product, broadcasting; use matmul for the matrix product.
/// dA = G ∘ B, dB = G ∘ A (each summed to its operand's shape).
template <class T>
Var<T> mul(Var<T> a, Var<T> b);
/// C = A / B elementwise, broadcasting. dA = G / B, dB = -G ∘ A / B² (each summed to its operand's shape).
template <class T>
Var<T> div(Var<T> a, Var<T> b);
/// C = -A. dA = -G.
template <class T>
Var<T> neg(Var<T> a);
/// C = A + s for a scalar s. dA = G. (Any arithmetic type for s: see the templates below.)
template <class T>
Var<T> add(Var<T> a, T s);
/// C = s A for a scalar s. dA = s G.
template <class T>
Var<T> mul(Var<T> a, T s);
/// C = s - A for a scalar s. dA = -G.
template <class T>
Var<T> sub(T s, Var<T> a);
/// C = s / A elementwise, for a scalar s. dA = -s G / A².
template <class T>
Var<T> div(T s, Var<T> a);

// ---- elementwise functions (ops/elementwise.cpp) --------------------------------------------
/// C = A². dA = 2 A ∘ G.
template <class T>
Var<T> square(Var<T> a);
/// C = exp(A). dA = C ∘ G.
template <class T>
Var<T> exp(Var<T> a);
/// C = log(A), the natural logarithm; log of a non-positive entry gives -inf or NaN (see anomaly detection).
/// dA = G / A.
template <class T>
Var<T> log(Var<T> a);
/// C = √A. dA = G / (2 C).
template <class T>
Var<T> sqrt(Var<T> a);
/// C = A^p elementwise, for a scalar exponent p. dA = p A^(p-1) ∘ G.
template <class T>
Var<T> pow(Var<T> a, T p);
/// C = |A|. dA = sign(A) ∘ G; the derivative at 0 is taken as 0.
template <class T>
Var<T> abs(Var<T> a);
/// C = max(A, 0). dA = G where A > 0, else 0 (the derivative at 0 is taken as 0).
template <class T>
Var<T> relu(Var<T> a);
/// C = tanh(A). dA = (1 - C²) ∘ G.
template <class T>
Var<T> tanh(Var<T> a);
/// C = σ(A) = 1 / (1 + exp(-A)). dA = C ∘ (1 - C) ∘ G.
template <class T>
Var<T> sigmoid(Var<T> a);

// ---- reductions (ops/reductions.cpp) -----------------------------------------------------
/// c = Σ A, the sum of all entries (1x1). dA = g everywhere.
template <class T>
Var<T> sum(Var<T> a);
/// c = Σ A / N, the mean of all N entries (1x1). dA = g / N everywhere.
template <class T>
Var<T> mean(Var<T> a);
/// The sum of each column, over the rows: 1xC (Eigen's colwise().sum(), torch.sum(dim=0)).
/// dA = G repeated down every row.
template <class T>
Var<T> colwise_sum(Var<T> a);
/// The sum of each row, over the columns: Rx1 (Eigen's rowwise().sum(), torch.sum(dim=1)).
/// dA = G repeated across every column.
template <class T>
Var<T> rowwise_sum(Var<T> a);
/// The mean of each column over its R rows: 1xC (torch.mean(dim=0)). dA = G / R repeated down every row.
template <class T>
Var<T> colwise_mean(Var<T> a);
/// The mean of each row over its C columns: Rx1 (torch.mean(dim=1)). dA = G / C repeated across every column.
template <class T>
Var<T> rowwise_mean(Var<T> a);
/// c = ‖A‖_F, the Frobenius norm (1x1). dA = g A / c; its derivative at 0 is taken as 0.
template <class T>
Var<T> norm(Var<T> a);
/// c_i = log(Σ_j exp(A_ij)) for each row: Rx1, computed stably (the row maximum is subtracted first).
/// dA_ij = g_i softmax(A_i)_j.
template <class T>
Var<T> rowwise_logsumexp(Var<T> a);

// ---- losses (ops/losses.cpp) ---------------------------------------------------------------
/// c = mean((A - B)²) over all N entries, as torch.nn.functional.mse_loss; A and B have the same shape.
/// dA = 2 g (A - B) / N, dB = -dA.
template <class T>
Var<T> mse(Var<T> a, Var<T> b);
/// c = Σ A² over all entries. dA = 2 g A.
template <class T>
Var<T> sum_squares(Var<T> a);

// ---- scalar operands of any arithmetic type ------------------------------------------------
// add(x, 1), mul(x, 2), sub(x, 1.0), div(x, 2), pow(x, 2), sub(1, x), ... for a Var<float> or Var<double>
// and a scalar of any arithmetic type (not bool): the scalar is converted to the Var's type and the call
// goes to the op above. Anything else (a Var of the other scalar type, an Eigen matrix, ...) stops at a
// static_assert that says so, instead of a page of candidate overloads.
namespace detail {
template <class S>
inline constexpr bool is_var_v = false;
template <class T>
inline constexpr bool is_var_v<Var<T>> = true;
/// A scalar operand: an arithmetic type other than bool.
template <class S>
inline constexpr bool is_scalar_v = std::is_arithmetic_v<S> && !std::is_same_v<std::remove_cv_t<S>, bool>;
}  // namespace detail

/// a + s, for a scalar s of any arithmetic type.
template <class T, class S>
Var<T> add(Var<T> a, S s) {
  static_assert(
      detail::is_scalar_v<S>,
      "tapegrad::add(a, b): b must be a Var of a's scalar type or an arithmetic scalar (int, double, ...)");
  return add(a, static_cast<T>(s));
}
/// s + a
template <class S, class T>
requires(!detail::is_var_v<S>) Var<T> add(S s, Var<T> a) {
  static_assert(detail::is_scalar_v<S>,
                "tapegrad::add(s, a): s must be an arithmetic scalar (int, double, ...)");
  return add(a, static_cast<T>(s));
}
/// a - s
template <class T, class S>
Var<T> sub(Var<T> a, S s) {
  static_assert(
      detail::is_scalar_v<S>,
      "tapegrad::sub(a, b): b must be a Var of a's scalar type or an arithmetic scalar (int, double, ...)");
  return add(a, -static_cast<T>(s));  // negated after the conversion: -1u is not -1
}
/// s - a
template <class S, class T>
requires(!detail::is_var_v<S>) Var<T> sub(S s, Var<T> a) {
  static_assert(detail::is_scalar_v<S>,
                "tapegrad::sub(s, a): s must be an arithmetic scalar (int, double, ...)");
  return sub(static_cast<T>(s), a);
}
/// a * s, elementwise.
template <class T, class S>
Var<T> mul(Var<T> a, S s) {
  static_assert(
      detail::is_scalar_v<S>,
      "tapegrad::mul(a, b): b must be a Var of a's scalar type or an arithmetic scalar (int, double, ...)");
  return mul(a, static_cast<T>(s));
}
/// s * a, elementwise.
template <class S, class T>
requires(!detail::is_var_v<S>) Var<T> mul(S s, Var<T> a) {
  static_assert(detail::is_scalar_v<S>,
                "tapegrad::mul(s, a): s must be an arithmetic scalar (int, double, ...)");
  return mul(a, static_cast<T>(s));
}
/// a / s, computed as a * (1/s) (one rounding more than a true division unless s is a power of two).
template <class T, class S>
Var<T> div(Var<T> a, S s) {
  static_assert(
      detail::is_scalar_v<S>,
      "tapegrad::div(a, b): b must be a Var of a's scalar type or an arithmetic scalar (int, double, ...)");
  return mul(a, T(1) / static_cast<T>(s));
}
/// s / a, elementwise.
template <class S, class T>
requires(!detail::is_var_v<S>) Var<T> div(S s, Var<T> a) {
  static_assert(detail::is_scalar_v<S>,
                "tapegrad::div(s, a): s must be an arithmetic scalar (int, double, ...)");
  return div(static_cast<T>(s), a);
}
/// a^p elementwise, for a scalar exponent p of any arithmetic type.
template <class T, class S>
Var<T> pow(Var<T> a, S p) {
  static_assert(
      detail::is_scalar_v<S>,
      "tapegrad::pow(a, p): p must be an arithmetic scalar (int, double, ...) or a Var of a's scalar type");
  return pow(a, static_cast<T>(p));
}

// ---- operators ------------------------------------------------------------------------------
// + and - (and unary -) with Vars or scalars on either side; * and / only with a scalar, because
// "A * B" means the matrix product in Eigen but the elementwise one in PyTorch: say matmul or mul.
// Scalars are of any arithmetic type (x * 2, 1 - x, x / 2.0f); anything else is a static_assert.
/// a + b: add(a, b).
template <class T>
Var<T> operator+(Var<T> a, Var<T> b) {
  return add(std::move(a), std::move(b));
}
/// a - b: sub(a, b).
template <class T>
Var<T> operator-(Var<T> a, Var<T> b) {
  return sub(std::move(a), std::move(b));
}
/// -a: neg(a).
template <class T>
Var<T> operator-(Var<T> a) {
  return neg(std::move(a));
}
/// a + s for a scalar s of any arithmetic type: add(a, s).
template <class T, class S>
Var<T> operator+(Var<T> a, S s) {
  static_assert(detail::is_scalar_v<S>,
                "tapegrad: Var + x: x must be a Var of the same scalar type or an arithmetic scalar (int, "
                "double, ...)");
  return add(std::move(a), static_cast<T>(s));
}
/// s + a: add(a, s).
template <class S, class T>
requires(!detail::is_var_v<S>) Var<T>
operator+(S s, Var<T> a) {
  static_assert(detail::is_scalar_v<S>,
                "tapegrad: x + Var: x must be an arithmetic scalar (int, double, ...)");
  return add(std::move(a), static_cast<T>(s));
}
/// a - s: add(a, -s).
template <class T, class S>
Var<T> operator-(Var<T> a, S s) {
  static_assert(detail::is_scalar_v<S>,
                "tapegrad: Var - x: x must be a Var of the same scalar type or an arithmetic scalar (int, "
                "double, ...)");
  return add(std::move(a), -static_cast<T>(s));
}
/// s - a: sub(s, a).
template <class S, class T>
requires(!detail::is_var_v<S>) Var<T>
operator-(S s, Var<T> a) {
  static_assert(detail::is_scalar_v<S>,
                "tapegrad: x - Var: x must be an arithmetic scalar (int, double, ...)");
  return sub(static_cast<T>(s), std::move(a));
}
/// a * s for a scalar s: mul(a, s). Between two Vars * does not compile: say matmul or mul.
template <class T, class S>
Var<T> operator*(Var<T> a, S s) {
  static_assert(
      !detail::is_var_v<S>,
      "tapegrad: Var * Var is not defined (matrix or elementwise product?): write matmul(a, b) or mul(a, b)");
  static_assert(detail::is_var_v<S> || detail::is_scalar_v<S>,
                "tapegrad: Var * x: x must be an arithmetic scalar (int, double, ...)");
  return mul(std::move(a), static_cast<T>(s));
}
/// s * a: mul(a, s).
template <class S, class T>
requires(!detail::is_var_v<S>) Var<T>
operator*(S s, Var<T> a) {
  static_assert(detail::is_scalar_v<S>,
                "tapegrad: x * Var: x must be an arithmetic scalar (int, double, ...)");
  return mul(std::move(a), static_cast<T>(s));
}
/// a / s for a scalar s: mul(a, 1 / s). Between two Vars / does not compile: say div.
template <class T, class S>
Var<T> operator/(Var<T> a, S s) {
  static_assert(!detail::is_var_v<S>, "tapegrad: Var / Var is not defined: write div(a, b) (elementwise)");
  static_assert(detail::is_var_v<S> || detail::is_scalar_v<S>,
                "tapegrad: Var / x: x must be an arithmetic scalar (int, double, ...)");
  return mul(std::move(a), T(1) / static_cast<T>(s));
}
/// s / a elementwise: div(s, a).
template <class S, class T>
requires(!detail::is_var_v<S>) Var<T>
operator/(S s, Var<T> a) {
  static_assert(detail::is_scalar_v<S>,
                "tapegrad: x / Var: x must be an arithmetic scalar (int, double, ...)");
  return div(static_cast<T>(s), a);
}

// =============================================================================================
// ---- the ops PyTorch users reach for first ----------------------------------------------------
// Shaping (ops/shaping.cpp), max/min and clamp (ops/minmax.cpp), softmax, logsumexp and the
// classification losses (ops/softmax.cpp), more elementwise functions (ops/elementwise.cpp). PyTorch's
// dim: dim 0 runs down the rows (over each column, a 1xC result), dim 1 along the columns (over each row,
// an Rx1 result); a softmax "over dim 1" normalises each row. Gradients at ties and kinks follow PyTorch
// 1.13 as documented on each op.

/// torch.cat({a, b}, dim): dim 0 stacks b below a (same column count; vcat), dim 1 puts b right of a (same
/// row count; hcat). Derivative: each input receives its block of dC.
template <class T>
Var<T> cat(Var<T> a, Var<T> b, int dim);
/// torch.narrow(a, dim, start, length): rows [start, start + length) of a (dim 0: length x C), or those
/// columns (dim 1: R x length). Derivative: dC is added into that block of dA, zero elsewhere.
template <class T>
Var<T> narrow(Var<T> a, int dim, Index start, Index length);
/// torch.index_select(a, dim, indices) (a[indices] for dim 0): row indices[k] of a becomes row k (dim 0:
/// n x C), or the same with columns (dim 1). Indices may repeat; each must be in range (else ShapeError).
/// Derivative: row k of dC is added into row indices[k] of dA (repeats accumulate). The indices are kept as
/// a constant node.
template <class T>
Var<T> index_select(Var<T> a, int dim, const std::vector<Index>& indices);
/// a's entries in column-major order (Eigen's storage order) laid out as rows x cols (rows * cols must equal
/// a's entry count). PyTorch's reshape reads row-major: tapegrad's reshape(a, r, c) is PyTorch's
/// a.T.reshape(c, r).T, and the two agree on vectors. Derivative: dC reshaped back to a's shape.
template <class T>
Var<T> reshape(Var<T> a, Index rows, Index cols);

/// torch.maximum(a, b) elementwise, a and b of one shape. Derivative: dC goes to the larger entry; at a
/// tie it is split evenly, half to each (as PyTorch).
template <class T>
Var<T> maximum(Var<T> a, Var<T> b);
/// torch.minimum(a, b) elementwise, a and b of one shape; ties split dC evenly, as maximum.
template <class T>
Var<T> minimum(Var<T> a, Var<T> b);
/// torch.max(a): the largest entry (1x1); NaN if any entry is NaN. Derivative: dc is split evenly among the
/// entries equal to the maximum (as PyTorch's full reduction).
template <class T>
Var<T> max(Var<T> a);
/// torch.min(a): the smallest entry (1x1); ties split dc evenly, as max.
template <class T>
Var<T> min(Var<T> a);
/// torch.max(a, dim=1).values: the largest entry of each row (Rx1). Derivative: dc_i goes to the first
/// maximal entry of row i (the index torch.max(a, dim) returns).
template <class T>
Var<T> rowwise_max(Var<T> a);
/// torch.max(a, dim=0).values: the largest entry of each column (1xC); dc_j goes to the first maximal one.
template <class T>
Var<T> colwise_max(Var<T> a);
/// torch.min(a, dim=1).values: the smallest entry of each row (Rx1); dc_i goes to the first minimal one.
template <class T>
Var<T> rowwise_min(Var<T> a);
/// torch.min(a, dim=0).values: the smallest entry of each column (1xC); dc_j goes to the first minimal one.
template <class T>
Var<T> colwise_min(Var<T> a);
/// torch.clamp(a, lo, hi): min(max(a, lo), hi) elementwise (lo <= hi, else std::invalid_argument; use
/// ±infinity for one bound only). Derivative: dA += dC where lo <= a <= hi (bounds included, as PyTorch),
/// 0 elsewhere. The two bounds are the node's parameters (OpParams), recorded with it.
template <class T>
Var<T> clamp(Var<T> a, T lo, T hi);

/// softmax over each row (F.softmax(a, dim=1)): S_ij = exp(A_ij - max_j A_ij) / Σ_k exp(A_ik - max_k A_ik),
/// stable for any finite input. Derivative: dA += S ∘ (dS - rowsum(S ∘ dS)).
template <class T>
Var<T> rowwise_softmax(Var<T> a);
/// softmax over each column (F.softmax(a, dim=0)); the derivative as rowwise_softmax's, by columns.
template <class T>
Var<T> colwise_softmax(Var<T> a);
/// log-softmax over each row (F.log_softmax(a, dim=1)): L = A - logsumexp of the row, stable (the graph
/// optimizer turns log(rowwise_softmax(a)) into this). Derivative: dA += dL - softmax(A) ∘ rowsum(dL).
template <class T>
Var<T> rowwise_log_softmax(Var<T> a);
/// log-softmax over each column (F.log_softmax(a, dim=0)); the derivative as rowwise_log_softmax's.
template <class T>
Var<T> colwise_log_softmax(Var<T> a);
/// torch.logsumexp(a, dim=0): log Σ_i exp(A_ij) of each column (1xC), stable. Derivative: dA_ij +=
/// softmax(A)_ij dc_j (the column's softmax).
template <class T>
Var<T> colwise_logsumexp(Var<T> a);
/// torch.logsumexp over every entry (1x1), stable. Derivative: dA += exp(A - c) dc.
template <class T>
Var<T> logsumexp(Var<T> a);
/// F.cross_entropy(logits, labels) with mean reduction: logits N x C (a row per sample, a column per class),
/// labels[i] in [0, C) the class of sample i: l = Σ_i (logsumexp(row i) - logits(i, labels[i])) / N,
/// stable. Derivative: dLogits += (softmax(logits) - onehot(labels)) dl / N. The labels are kept as a
/// constant node; a label out of range throws ShapeError.
template <class T>
Var<T> cross_entropy(Var<T> logits, const std::vector<Index>& labels);
/// The same with the labels written in braces: cross_entropy(logits, {2, 0, 1}).
template <class T>
Var<T> cross_entropy(Var<T> logits, std::initializer_list<Index> labels) {
  return cross_entropy(logits, std::vector<Index>(labels));
}
/// F.cross_entropy(logits, target) with class probabilities as the target (N x C, rows usually summing to
/// 1), mean over the N rows: l = -Σ_ij Y_ij log_softmax(X)_ij / N. What the graph optimizer fuses
/// -mean(rowwise_sum(mul(Y, log(rowwise_softmax(X))))) (or with rowwise_log_softmax) into. Derivative:
/// dX += (softmax(X) ∘ rowsum(Y) - Y) dl / N, dY -= log_softmax(X) dl / N.
template <class T>
Var<T> cross_entropy(Var<T> logits, Var<T> target);
/// F.binary_cross_entropy_with_logits(x, y) with mean reduction, x and y of one shape: mean of
/// max(x, 0) - x y + log(1 + exp(-|x|)) (softplus(x) - x y, never overflowing). Derivative: dx +=
/// (sigmoid(x) - y) dl / N, dy -= x dl / N.
template <class T>
Var<T> binary_cross_entropy_with_logits(Var<T> x, Var<T> y);

/// sin, elementwise. Derivative: dA += cos(A) ∘ dC.
template <class T>
Var<T> sin(Var<T> a);
/// cos, elementwise. Derivative: dA -= sin(A) ∘ dC.
template <class T>
Var<T> cos(Var<T> a);
/// log(1 + a), elementwise, accurate for tiny a. Derivative: dA += dC / (1 + A).
template <class T>
Var<T> log1p(Var<T> a);
/// exp(a) - 1, elementwise, accurate for tiny a. Derivative: dA += (C + 1) ∘ dC.
template <class T>
Var<T> expm1(Var<T> a);
/// F.softplus(a) = log(1 + exp(a)), elementwise, computed as max(a, 0) + log1p(exp(-|a|)) (never overflows;
/// PyTorch returns a itself above its threshold 20, which differs by below 2e-9). Derivative: dA +=
/// sigmoid(A) ∘ dC.
template <class T>
Var<T> softplus(Var<T> a);
/// torch.pow(a, b) with a matrix exponent of a's shape: C = A^B elementwise (C99's special cases).
/// Derivative: dA += B A^(B-1) ∘ dC, dB += C log(A) ∘ dC, taken as 0 where A = 0 and B >= 0 (as PyTorch).
template <class T>
Var<T> pow(Var<T> a, Var<T> b);

/// softmax over PyTorch's dim: 1 is rowwise_softmax, 0 colwise_softmax.
template <class T>
Var<T> softmax(Var<T> a, int dim) {
  return dim == 1   ? rowwise_softmax(a)
         : dim == 0 ? colwise_softmax(a)
                    : throw ShapeError("softmax: dim must be 0 or 1");
}
/// log_softmax over PyTorch's dim: 1 is rowwise_log_softmax, 0 colwise_log_softmax.
template <class T>
Var<T> log_softmax(Var<T> a, int dim) {
  return dim == 1   ? rowwise_log_softmax(a)
         : dim == 0 ? colwise_log_softmax(a)
                    : throw ShapeError("log_softmax: dim must be 0 or 1");
}

}  // namespace tapegrad
