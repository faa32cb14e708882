#include "gemm.hpp"

#include <string>

#ifdef TAPEGRAD_HAVE_BLAS
#include <cblas.h>
#endif

namespace tapegrad {
namespace detail {

bool use_blas(Index m, Index n, Index k) {
#ifdef TAPEGRAD_HAVE_BLAS
  // Below this many multiply-adds a BLAS call's fixed cost outweighs its faster kernel. Measured with
  // bench_ops's eigen_sgemm / blas_sgemm (one OpenBLAS thread, bench/RESULTS.md): Eigen wins at 8³ (162 vs
  // 217 ns), OpenBLAS from 16³ on (443 vs 654 ns; 2x at 64³, 2.7x at 128³), transposed shapes alike.
  return static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k) >= 16.0 * 16.0 * 16.0;
#else
  (void)m, (void)n, (void)k;
  return false;
#endif
}

namespace {

[[noreturn]] void shape_mismatch(const char* what, Index ar, Index ac, Index br, Index bc, Index cr,
                                 Index cc) {
  throw ShapeError(std::string(what) + ": operands " + shape_string(ar, ac) + " and " + shape_string(br, bc) +
                   " do not give the output's shape " + shape_string(cr, cc));
}

template <class T, class Product>
void assign(T alpha, T beta, Matrix<T>& c, const Product& p) {
  if (beta == T(0)) {
    c.noalias() = alpha * p;
  } else {
    if (beta != T(1)) c *= beta;
    if (alpha != T(1) && (c.rows() == 1 || c.cols() == 1)) {
      // Eigen moves alpha into the left operand, and its GEMV then copies a row of that expression into a
      // heap temporary (a row-vector result of a·G, as the crossprod backward makes). Coefficient-wise
      // instead.
      c.noalias() += alpha * p.lhs().lazyProduct(p.rhs());
    } else {
      c.noalias() += alpha * p;
    }
  }
}
}  // namespace

}  // namespace detail

template <class T>
void gemm(bool ta, bool tb, T alpha, const Matrix<T>& a, const Matrix<T>& b, T beta, Matrix<T>& c) {
  using detail::assign;
  using detail::use_blas;
  const Index m = c.rows(), n = c.cols(), k = ta ? a.rows() : a.cols();
  if ((ta ? a.cols() : a.rows()) != m || (tb ? b.rows() : b.cols()) != n || (tb ? b.cols() : b.rows()) != k)
    detail::shape_mismatch("gemm", a.rows(), a.cols(), b.rows(), b.cols(), m, n);
#ifdef TAPEGRAD_HAVE_BLAS
  if (use_blas(m, n, k) && k > 0) {
    const auto ta_ = ta ? CblasTrans : CblasNoTrans, tb_ = tb ? CblasTrans : CblasNoTrans;
    const int lda = static_cast<int>(a.rows()), ldb = static_cast<int>(b.rows()), ldc = static_cast<int>(m);
    if constexpr (std::is_same_v<T, float>) {
      cblas_sgemm(CblasColMajor, ta_, tb_, int(m), int(n), int(k), alpha, a.data(), lda, b.data(), ldb, beta,
                  c.data(), ldc);
    } else {
      cblas_dgemm(CblasColMajor, ta_, tb_, int(m), int(n), int(k), alpha, a.data(), lda, b.data(), ldb, beta,
                  c.data(), ldc);
    }
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

template <class T>
void syrk(bool ta, T alpha, const Matrix<T>& a, T beta, Matrix<T>& c) {
  using detail::assign;
  using detail::use_blas;
  // ta = false: C = alpha AᵀA (columns' Gram), ta = true: C = alpha A Aᵀ.
  const Index n = c.rows(), k = ta ? a.cols() : a.rows();
  if (c.cols() != n || (ta ? a.rows() : a.cols()) != n)
    detail::shape_mismatch("syrk", a.rows(), a.cols(), a.rows(), a.cols(), c.rows(), c.cols());
#ifdef TAPEGRAD_HAVE_BLAS
  if (use_blas(n, n, k) && k > 0) {
    const auto t = ta ? CblasNoTrans : CblasTrans;
    if constexpr (std::is_same_v<T, float>) {
      cblas_ssyrk(CblasColMajor, CblasUpper, t, int(n), int(k), alpha, a.data(), int(a.rows()), beta,
                  c.data(), int(n));
    } else {
      cblas_dsyrk(CblasColMajor, CblasUpper, t, int(n), int(k), alpha, a.data(), int(a.rows()), beta,
                  c.data(), int(n));
    }
    c.template triangularView<Eigen::StrictlyLower>() = c.transpose();
    return;
  }
#endif
  (void)k;
  if (n <= 16) {  // tiny: a plain product beats the triangular bookkeeping
    if (ta)
      assign(alpha, beta, c, a * a.transpose());
    else
      assign(alpha, beta, c, a.transpose() * a);
    return;
  }
  if (beta == T(0))
    c.setZero();
  else if (beta != T(1))
    c *= beta;
  if (ta)
    c.template selfadjointView<Eigen::Upper>().rankUpdate(a, alpha);
  else
    c.template selfadjointView<Eigen::Upper>().rankUpdate(a.transpose(), alpha);
  c.template triangularView<Eigen::StrictlyLower>() = c.transpose();
}

template void gemm<float>(bool, bool, float, const Matrix<float>&, const Matrix<float>&, float,
                          Matrix<float>&);
template void gemm<double>(bool, bool, double, const Matrix<double>&, const Matrix<double>&, double,
                           Matrix<double>&);
template void syrk<float>(bool, float, const Matrix<float>&, float, Matrix<float>&);
template void syrk<double>(bool, double, const Matrix<double>&, double, Matrix<double>&);

}  // namespace tapegrad
