// The ops: each records one node on its inputs' tape. Shapes are checked when the node is
// recorded; a mismatch throws ShapeError naming the op and the shapes. Each op's forward,
// backward and derivative live together in one function in autodiff/src/ops/*.cpp.
//
// Binary arithmetic (add, sub, mul, div) broadcasts like NumPy in two dimensions: each dimension
// of each operand equals the other's or is 1, so a 1xC row vector (bias) applies to every row,
// an Rx1 column vector to every column, and a 1x1 to everything.
#pragma once

#include <type_traits>
#include <vector>

#include "tapegrad/autodiff/tape.hpp"

namespace tapegrad {

// ---- linear algebra (ops/linalg.cpp) -------------------------------------------------------
/// A B (matrix product, through BLAS for large sizes).
template <class T>
Var<T> matmul(Var<T> a, Var<T> b);
/// A Bᵀ in one node: the same value and gradients as matmul(a, transpose(b)), without forming Bᵀ (the
/// transpose is passed to GEMM as a flag, forward and backward).
template <class T>
Var<T> matmul_nt(Var<T> a, Var<T> b);
/// Aᵀ.
template <class T>
Var<T> transpose(Var<T> a);
/// A vector (1xn or nx1) becomes the nxn diagonal matrix; a square matrix gives its diagonal as an nx1
/// vector.
template <class T>
Var<T> diag(Var<T> a);
/// A diag(v): scales column j of A by v_j, without forming diag(v). v is 1xn or nx1 for an mxn A.
template <class T>
Var<T> scale_columns(Var<T> a, Var<T> v);
/// diag(v) B: scales row i of B by v_i, without forming diag(v). v is 1xm or mx1 for an mxn B.
template <class T>
Var<T> scale_rows(Var<T> v, Var<T> b);
/// AᵀA, the Gram matrix of A's columns (symmetric; one product forward and one backward).
template <class T>
Var<T> gram(Var<T> a);
/// A Aᵀ, the Gram matrix of A's rows: matmul(a, transpose(a)) as a symmetric rank-k update (half the work
/// forward, one product backward).
template <class T>
Var<T> gram_rows(Var<T> a);

// ---- arithmetic with broadcasting (ops/arithmetic.cpp) --------------------------------------
template <class T>
Var<T> add(Var<T> a, Var<T> b);
template <class T>
Var<T> sub(Var<T> a, Var<T> b);
/// Elementwise (Hadamard) product; use matmul for the matrix product.
template <class T>
Var<T> mul(Var<T> a, Var<T> b);
/// Elementwise quotient.
template <class T>
Var<T> div(Var<T> a, Var<T> b);
template <class T>
Var<T> neg(Var<T> a);
template <class T>
Var<T> add(Var<T> a, T s);
template <class T>
Var<T> mul(Var<T> a, T s);
/// s - a
template <class T>
Var<T> sub(T s, Var<T> a);
/// s / a, elementwise
template <class T>
Var<T> div(T s, Var<T> a);

// ---- elementwise functions (ops/elementwise.cpp) --------------------------------------------
template <class T>
Var<T> square(Var<T> a);
template <class T>
Var<T> exp(Var<T> a);
/// Natural logarithm; log of a non-positive entry gives -inf or NaN (see anomaly detection).
template <class T>
Var<T> log(Var<T> a);
template <class T>
Var<T> sqrt(Var<T> a);
/// a^p elementwise, for a scalar exponent p.
template <class T>
Var<T> pow(Var<T> a, T p);
/// |a|; the derivative at 0 is taken as 0.
template <class T>
Var<T> abs(Var<T> a);
/// max(a, 0); the derivative at 0 is taken as 0.
template <class T>
Var<T> relu(Var<T> a);
template <class T>
Var<T> tanh(Var<T> a);
template <class T>
Var<T> sigmoid(Var<T> a);

// ---- reductions (ops/reductions.cpp) -----------------------------------------------------
/// Sum of all entries (1x1).
template <class T>
Var<T> sum(Var<T> a);
/// Mean of all entries (1x1).
template <class T>
Var<T> mean(Var<T> a);
/// Sum of each column, over the rows: 1xC (Eigen's colwise().sum(), torch.sum(dim=0)).
template <class T>
Var<T> colwise_sum(Var<T> a);
/// Sum of each row, over the columns: Rx1 (Eigen's rowwise().sum(), torch.sum(dim=1)).
template <class T>
Var<T> rowwise_sum(Var<T> a);
template <class T>
Var<T> colwise_mean(Var<T> a);
template <class T>
Var<T> rowwise_mean(Var<T> a);
/// Frobenius norm (1x1); its derivative at 0 is taken as 0.
template <class T>
Var<T> norm(Var<T> a);
/// log(sum(exp(row))) of each row: Rx1, computed stably (the row maximum is subtracted first).
template <class T>
Var<T> rowwise_logsumexp(Var<T> a);

// ---- losses (ops/losses.cpp) ---------------------------------------------------------------
/// mean((a - b)^2) over all entries, as torch.nn.functional.mse_loss; a and b have the same shape.
template <class T>
Var<T> mse(Var<T> a, Var<T> b);
/// sum(a^2) over all entries.
template <class T>
Var<T> sum_squares(Var<T> a);

// ---- operators ------------------------------------------------------------------------------
// + and - (and unary -) with Vars or scalars on either side; * and / only with a scalar, because
// "A * B" means the matrix product in Eigen but the elementwise one in PyTorch: say matmul or mul.
template <class T>
Var<T> operator+(Var<T> a, Var<T> b) {
  return add(a, b);
}
template <class T>
Var<T> operator-(Var<T> a, Var<T> b) {
  return sub(a, b);
}
template <class T>
Var<T> operator-(Var<T> a) {
  return neg(a);
}
template <class T>
Var<T> operator+(Var<T> a, std::type_identity_t<T> s) {
  return add(a, s);
}
template <class T>
Var<T> operator+(std::type_identity_t<T> s, Var<T> a) {
  return add(a, s);
}
template <class T>
Var<T> operator-(Var<T> a, std::type_identity_t<T> s) {
  return add(a, -s);
}
template <class T>
Var<T> operator-(std::type_identity_t<T> s, Var<T> a) {
  return sub(s, a);
}
template <class T>
Var<T> operator*(Var<T> a, std::type_identity_t<T> s) {
  return mul(a, s);
}
template <class T>
Var<T> operator*(std::type_identity_t<T> s, Var<T> a) {
  return mul(a, s);
}
template <class T>
Var<T> operator/(Var<T> a, std::type_identity_t<T> s) {
  return mul(a, T(1) / s);
}
template <class T>
Var<T> operator/(std::type_identity_t<T> s, Var<T> a) {
  return div(s, a);
}

// =============================================================================================
// ---- the ops PyTorch users reach for first (issue 15) ----------------------------------------
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
/// 0 elsewhere. The two bounds are kept as a 1x2 constant node (a node has one scalar parameter).
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
