// The floor: the seed loss and its exact gradient written by hand, with the fewest FLOPs, for tests and
// benchmarks to compare the tape against (header-only).
//
//   L = mean((U S Vᵀ − M)²) + mean((UᵀU − I)²)/100 + mean((V Vᵀ − I)²)/100,   S = diag(d²)
//
// with U m×n, d 1×n (or n×1), V n×n, M m×n. With R = U S Vᵀ − M, E_u = UᵀU − I, E_v = V Vᵀ − I (both
// symmetric), a = 2/(mn) and c = 4/(100 n²):
//
//   dL/dU = a R V S + c U E_u          (d/dU ‖UᵀU − I‖² = 2 U (E_u + E_uᵀ) = 4 U E_u)
//   dL/dV = a Rᵀ (U S) + c E_v V       (d/dV ‖V Vᵀ − I‖² = 4 E_v V)
//   dL/dd = 2 d ∘ colsum(U ∘ (a R V))  (dL/dS_jj = u_jᵀ (a R) v_j, and S_jj = d_j²)
//
// Products: forward U S Vᵀ (GEMM, 2mn², Vᵀ as a flag), UᵀU and V Vᵀ (SYRK, mn² and n³); backward a R V,
// U E_u, Rᵀ (U S) (GEMMs, 2mn² each) and E_v V (2n³). U S is a column scaling, never an n×n product.
// Products go to OpenBLAS's CBLAS (when TAPEGRAD_HAVE_BLAS is defined) from 16³ multiply-adds on and to
// Eigen below, the threshold of autodiff/src/gemm.cpp; everything elementwise is Eigen.
//
// The workspace (three matrices besides the outputs) is sized on the first call; later calls with the
// same shapes make no heap allocation.
#pragma once

#include <Eigen/Core>

#ifdef TAPEGRAD_HAVE_BLAS
#include <cblas.h>
#endif

#include <type_traits>

namespace tapegrad::test {

namespace seed_gradient_detail {

template <class T>
using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;

// As autodiff/src/gemm.cpp's use_blas: Eigen below 16³ multiply-adds, BLAS from there on.
inline bool use_blas(Eigen::Index m, Eigen::Index n, Eigen::Index k) {
#ifdef TAPEGRAD_HAVE_BLAS
  return static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k) >= 16.0 * 16.0 * 16.0;
#else
  (void)m, (void)n, (void)k;
  return false;
#endif
}

template <class T, class Product>
void assign(T alpha, T beta, Mat<T>& c, const Product& p) {
  if (beta == T(0)) {
    c.noalias() = alpha * p;
  } else {
    if (beta != T(1)) c *= beta;
    c.noalias() += alpha * p;
  }
}

// C = alpha op(A) op(B) + beta C; C already has the result's shape.
template <class T>
void gemm(bool ta, bool tb, T alpha, const Mat<T>& a, const Mat<T>& b, T beta, Mat<T>& c) {
  const Eigen::Index m = c.rows(), n = c.cols(), k = ta ? a.rows() : a.cols();
#ifdef TAPEGRAD_HAVE_BLAS
  if (use_blas(m, n, k) && k > 0) {
    const auto ta_ = ta ? CblasTrans : CblasNoTrans, tb_ = tb ? CblasTrans : CblasNoTrans;
    const int lda = static_cast<int>(a.rows()), ldb = static_cast<int>(b.rows()), ldc = static_cast<int>(m);
    if constexpr (std::is_same_v<T, float>)
      cblas_sgemm(CblasColMajor, ta_, tb_, int(m), int(n), int(k), alpha, a.data(), lda, b.data(), ldb, beta,
                  c.data(), ldc);
    else
      cblas_dgemm(CblasColMajor, ta_, tb_, int(m), int(n), int(k), alpha, a.data(), lda, b.data(), ldb, beta,
                  c.data(), ldc);
    return;
  }
#endif
  (void)m, (void)n, (void)k;
  if (!ta && !tb)
    assign(alpha, beta, c, a * b);
  else if (ta && !tb)
    assign(alpha, beta, c, a.transpose() * b);
  else if (!ta && tb)
    assign(alpha, beta, c, a * b.transpose());
  else
    assign(alpha, beta, c, a.transpose() * b.transpose());
}

// C = AᵀA (ta = false: the columns' Gram) or A Aᵀ (ta = true: the rows'), both triangles filled; C already
// has the result's shape.
template <class T>
void syrk(bool ta, const Mat<T>& a, Mat<T>& c) {
  const Eigen::Index n = c.rows(), k = ta ? a.cols() : a.rows();
#ifdef TAPEGRAD_HAVE_BLAS
  if (use_blas(n, n, k) && k > 0) {
    const auto t = ta ? CblasNoTrans : CblasTrans;
    if constexpr (std::is_same_v<T, float>)
      cblas_ssyrk(CblasColMajor, CblasUpper, t, int(n), int(k), T(1), a.data(), int(a.rows()), T(0), c.data(),
                  int(n));
    else
      cblas_dsyrk(CblasColMajor, CblasUpper, t, int(n), int(k), T(1), a.data(), int(a.rows()), T(0), c.data(),
                  int(n));
    c.template triangularView<Eigen::StrictlyLower>() = c.transpose();
    return;
  }
#endif
  (void)k;
  if (n <= 16) {  // tiny: a plain product beats the triangular bookkeeping (as gemm.cpp)
    if (ta)
      c.noalias() = a * a.transpose();
    else
      c.noalias() = a.transpose() * a;
    return;
  }
  c.setZero();
  if (ta)
    c.template selfadjointView<Eigen::Upper>().rankUpdate(a, T(1));
  else
    c.template selfadjointView<Eigen::Upper>().rankUpdate(a.transpose(), T(1));
  c.template triangularView<Eigen::StrictlyLower>() = c.transpose();
}

}  // namespace seed_gradient_detail

/// The seed loss and its gradient by hand. One object per problem size (it keeps the workspace).
template <class T>
struct SeedGradient {
  using Mat = seed_gradient_detail::Mat<T>;
  using Row = Eigen::Matrix<T, 1, Eigen::Dynamic>;

  /// Returns L and overwrites (does not accumulate into) gU, gd, gV with its gradient; they must already
  /// have the shapes of U, d, V (a Parameter's grad has). d is 1×n or n×1.
  T loss_and_gradient(const Mat& U, const Mat& d, const Mat& V, const Mat& M, Mat& gU, Mat& gd, Mat& gV) {
    namespace sg = seed_gradient_detail;
    const Eigen::Index m = U.rows(), n = U.cols();
    // Sized once: resize() to the same size keeps the buffer.
    s.resize(n);
    us.resize(m, n);
    r.resize(m, n);
    eu.resize(n, n);
    ev.resize(n, n);
    const Eigen::Map<const Row> dv(d.data(), n);
    Eigen::Map<Row> gdv(gd.data(), n);

    // Forward.
    s = dv.array().square().matrix();      // d²
    us = U.array().rowwise() * s.array();  // U S: column scaling
    r = M;
    sg::gemm(false, true, T(1), us, V, T(-1), r);  // R = (U S) Vᵀ − M
    sg::syrk(false, U, eu);                        // UᵀU
    eu.diagonal().array() -= T(1);
    sg::syrk(true, V, ev);  // V Vᵀ
    ev.diagonal().array() -= T(1);
    const T mn = static_cast<T>(m * n), nn = static_cast<T>(n * n);
    const T loss = r.squaredNorm() / mn + eu.squaredNorm() / nn / T(100) + ev.squaredNorm() / nn / T(100);

    // Backward.
    const T a = T(2) / mn, c = T(4) / (T(100) * nn);
    sg::gemm(false, false, a, r, V, T(0), gU);  // gU = a R V (then scaled by S below)
    for (Eigen::Index j = 0; j < n; ++j) gdv(j) = T(2) * dv(j) * U.col(j).dot(gU.col(j));
    gU.array().rowwise() *= s.array();           // a R V S (in place)
    sg::gemm(false, false, c, U, eu, T(1), gU);  // + c U E_u
    sg::gemm(true, false, a, r, us, T(0), gV);   // gV = a Rᵀ (U S)
    sg::gemm(false, false, c, ev, V, T(1), gV);  // + c E_v V
    return loss;
  }

  // The workspace.
  Row s;       // d²
  Mat us, r;   // U S, R (m×n)
  Mat eu, ev;  // UᵀU − I, V Vᵀ − I (n×n)
};

}  // namespace tapegrad::test
