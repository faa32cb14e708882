// Matrix products outside a tape, at BLAS speed and allocation-free: what the ops use, for the code around a
// tape (an optimizer's or a solver's own linear algebra, e.g. a projection onto a manifold's tangent space).
#pragma once

#include "tapegrad/autodiff/matrix.hpp"

namespace tapegrad {

/// C = alpha op(A) op(B) + beta C, where op(X) is X (trans false) or Xᵀ (trans true). C must already have
/// the product's shape (it is not resized) and must not share memory with A or B. OpenBLAS's GEMM for large
/// products (when built with it), Eigen's for small ones; allocates nothing. Throws ShapeError when the
/// shapes do not agree.
template <class T>
void gemm(bool trans_a, bool trans_b, T alpha, const Matrix<T>& a, const Matrix<T>& b, T beta, Matrix<T>& c);

/// C = alpha op(A)ᵀ op(A) + beta C with op(A) = A (trans false: the columns' Gram matrix AᵀA) or Aᵀ (trans
/// true: A Aᵀ): a symmetric rank-k update, half the work of gemm. Fills both triangles of C, which must be
/// square of the result's size. Throws ShapeError when the shapes do not agree.
template <class T>
void syrk(bool trans_a, T alpha, const Matrix<T>& a, T beta, Matrix<T>& c);

}  // namespace tapegrad
