// Matrix products for the ops: OpenBLAS's CBLAS for large sizes when available, Eigen otherwise.
#pragma once

#include "tapegrad/autodiff/matrix.hpp"

namespace tapegrad::detail {

/// C = alpha op(A) op(B) + beta C, where op(X) is X or Xᵀ; C must already have the result's shape.
template <class T>
void gemm(bool trans_a, bool trans_b, T alpha, const Matrix<T>& a, const Matrix<T>& b, T beta, Matrix<T>& c);

/// C = alpha op(A)ᵀ op(A) + beta C with op(A) = A or Aᵀ (a symmetric rank-k update: half the work of gemm).
/// Fills both triangles of C.
template <class T>
void syrk(bool trans_a, T alpha, const Matrix<T>& a, T beta, Matrix<T>& c);

/// True when products of this size go to BLAS.
bool use_blas(Index m, Index n, Index k);

}  // namespace tapegrad::detail
