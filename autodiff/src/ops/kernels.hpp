// The fused kernels that the graph optimizer rewrites literal formulas into (src/graph_optimizer.cpp).
// Each is also an op users can call by name (matmul_nt, crossprod, tcrossprod, scale_columns, scale_rows,
// mse, sum_squares): one definition, in the op's file, serves both.
#pragma once

#include <cstdint>

#include "tapegrad/autodiff/tape.hpp"

namespace tapegrad::detail {

/// Transpose flags of the matmul kernel (a node's attr).
inline constexpr std::uint32_t kTransA = 1, kTransB = 2;

/// C = op(A) op(B) with op(X) = X or Xᵀ as the flags say (ops/linalg.cpp). Named matmul, matmul_tn,
/// matmul_nt, matmul_tt.
template <class T>
const OpDef<T>& matmul_op(std::uint32_t flags);
/// AᵀA and A Aᵀ as symmetric rank-k updates (ops/linalg.cpp).
template <class T>
const OpDef<T>& crossprod_op();
template <class T>
const OpDef<T>& tcrossprod_op();
/// A diag(v) with inputs (A, v), and diag(v) A with inputs (v, A) (ops/linalg.cpp).
template <class T>
const OpDef<T>& scale_columns_op();
template <class T>
const OpDef<T>& scale_rows_op();
/// Σ (A - B)² / scalar in one pass, inputs (A, B) of one shape: "mse" when the divisor is the entry count
/// (mean), "sum_squared_difference" otherwise (ops/losses.cpp).
template <class T>
const OpDef<T>& squared_difference_op(bool mean);
/// Σ A² / scalar in one pass: "mean_squares" or "sum_squares" (ops/losses.cpp).
template <class T>
const OpDef<T>& squares_op(bool mean);

/// act(A + B) with B or A broadcasting as in add (a bias), act one of OpKind::tanh, sigmoid, relu:
/// "add_tanh", "add_sigmoid", "add_relu" (ops/elementwise.cpp). One pass forward and backward, no sum or its
/// gradient kept.
template <class T>
const OpDef<T>& add_activation_op(OpKind act);

/// Softmax and log-softmax with the direction as the node's attr (1: each row, 0: each column), and
/// -Σ Y ∘ log_softmax(X) / scalar over the rows of X with inputs (X, Y) of one shape:
/// "softmax_cross_entropy", what -mean(rowwise_sum(mul(Y, log(rowwise_softmax(X))))) becomes
/// (ops/softmax.cpp).
template <class T>
const OpDef<T>& softmax_op();
template <class T>
const OpDef<T>& log_softmax_op();
template <class T>
const OpDef<T>& softmax_cross_entropy_op();

}  // namespace tapegrad::detail
