// matmul, matmul_nt, transpose, diag, scale_columns, gram, gram_rows.
#include "../gemm.hpp"
#include "op_support.hpp"

namespace tapegrad {

using detail::gemm;
using detail::shape_of;

template <class T>
Var<T> matmul(Var<T> a, Var<T> b) {
  // C = A B   =>   dA += dC Bᵀ,   dB += Aᵀ dC
  Tape<T>& t = detail::same_tape("matmul", a, b);
  if (a.cols() != b.rows()) {
    throw ShapeError("matmul: cannot multiply " + shape_of(a.value()) + " by " + shape_of(b.value()));
  }
  return t.record(
      "matmul", {a, b}, a.rows(), b.cols(),
      [](OpContext<T>& c) { gemm(false, false, T(1), c.in(0), c.in(1), T(0), c.out()); },
      [](OpContext<T>& c) {
        if (c.needs_grad(0)) gemm(false, true, T(1), c.grad_out(), c.in(1), T(1), c.grad_in(0));
        if (c.needs_grad(1)) gemm(true, false, T(1), c.in(0), c.grad_out(), T(1), c.grad_in(1));
      });
}

template <class T>
Var<T> matmul_nt(Var<T> a, Var<T> b) {
  // C = A Bᵀ   =>   dA += dC B,   dB += dCᵀ A   (the transpose is a GEMM flag, never a matrix)
  Tape<T>& t = detail::same_tape("matmul_nt", a, b);
  if (a.cols() != b.cols()) {
    throw ShapeError("matmul_nt: cannot multiply " + shape_of(a.value()) + " by the transpose of " +
                     shape_of(b.value()));
  }
  return t.record(
      "matmul_nt", {a, b}, a.rows(), b.rows(),
      [](OpContext<T>& c) { gemm(false, true, T(1), c.in(0), c.in(1), T(0), c.out()); },
      [](OpContext<T>& c) {
        if (c.needs_grad(0)) gemm(false, false, T(1), c.grad_out(), c.in(1), T(1), c.grad_in(0));
        if (c.needs_grad(1)) gemm(true, false, T(1), c.grad_out(), c.in(0), T(1), c.grad_in(1));
      });
}

template <class T>
Var<T> transpose(Var<T> a) {
  // C = Aᵀ   =>   dA += dCᵀ
  return a.tape().record(
      "transpose", {a}, a.cols(), a.rows(), [](OpContext<T>& c) { c.out().noalias() = c.in(0).transpose(); },
      [](OpContext<T>& c) { c.grad_in(0) += c.grad_out().transpose(); });
}

template <class T>
Var<T> diag(Var<T> a) {
  if (detail::is_vector(a)) {
    // C = diag(v) (n×n)   =>   dv += diagonal(dC)   (shaped like v)
    const Index n = a.rows() * a.cols();
    return a.tape().record(
        "diag", {a}, n, n,
        [](OpContext<T>& c) {
          c.out().setZero();
          c.out().diagonal() = c.in(0).reshaped();
        },
        [](OpContext<T>& c) { c.grad_in(0).reshaped() += c.grad_out().diagonal(); });
  }
  if (a.rows() != a.cols()) {
    throw ShapeError("diag: expects a vector (1xn or nx1) or a square matrix, got " + shape_of(a.value()));
  }
  // c = diagonal(A) (n×1)   =>   dA += diag(dc)
  return a.tape().record(
      "diagonal", {a}, a.rows(), 1, [](OpContext<T>& c) { c.out() = c.in(0).diagonal(); },
      [](OpContext<T>& c) { c.grad_in(0).diagonal() += c.grad_out(); });
}

template <class T>
Var<T> scale_columns(Var<T> a, Var<T> v) {
  // C = A diag(v), C_ij = A_ij v_j   =>   dA += dC diag(v),   dv_j += Σ_i dC_ij A_ij
  Tape<T>& t = detail::same_tape("scale_columns", a, v);
  if (!detail::is_vector(v) || v.rows() * v.cols() != a.cols()) {
    throw ShapeError("scale_columns: cannot scale the columns of " + shape_of(a.value()) + " by " +
                     shape_of(v.value()) + " (needs a vector of " + std::to_string(a.cols()) + " entries)");
  }
  return t.record(
      "scale_columns", {a, v}, a.rows(), a.cols(),
      [](OpContext<T>& c) { c.out().noalias() = c.in(0) * c.in(1).reshaped().asDiagonal(); },
      [](OpContext<T>& c) {
        if (c.needs_grad(0)) c.grad_in(0).noalias() += c.grad_out() * c.in(1).reshaped().asDiagonal();
        if (c.needs_grad(1)) {
          c.grad_in(1).reshaped() +=
              (c.grad_out().array() * c.in(0).array()).colwise().sum().transpose().matrix();
        }
      });
}

namespace {
// Exactly symmetric (a NaN anywhere off the diagonal makes it not so).
template <class T>
bool is_symmetric(const Matrix<T>& g) {
  const Index n = g.rows();
  for (Index j = 1; j < n; ++j) {
    for (Index i = 0; i < j; ++i) {
      if (!(g(i, j) == g(j, i))) return false;
    }
  }
  return true;
}
}  // namespace

template <class T>
Var<T> gram(Var<T> a) {
  // G = AᵀA   =>   dA += A (dG + dGᵀ)   (one product, A (2 dG), when dG is symmetric, as a loss of G makes
  // it)
  return a.tape().record(
      "gram", {a}, a.cols(), a.cols(),
      [](OpContext<T>& c) { detail::syrk(false, T(1), c.in(0), T(0), c.out()); },
      [](OpContext<T>& c) {
        const auto& g = c.grad_out();
        if (is_symmetric(g)) {
          gemm(false, false, T(2), c.in(0), g, T(1), c.grad_in(0));
        } else {
          gemm(false, false, T(1), c.in(0), g, T(1), c.grad_in(0));
          gemm(false, true, T(1), c.in(0), g, T(1), c.grad_in(0));
        }
      });
}

template <class T>
Var<T> gram_rows(Var<T> a) {
  // G = A Aᵀ   =>   dA += (dG + dGᵀ) A   (one product, (2 dG) A, when dG is symmetric)
  return a.tape().record(
      "gram_rows", {a}, a.rows(), a.rows(),
      [](OpContext<T>& c) { detail::syrk(true, T(1), c.in(0), T(0), c.out()); },
      [](OpContext<T>& c) {
        const auto& g = c.grad_out();
        if (is_symmetric(g)) {
          gemm(false, false, T(2), g, c.in(0), T(1), c.grad_in(0));
        } else {
          gemm(false, false, T(1), g, c.in(0), T(1), c.grad_in(0));
          gemm(true, false, T(1), g, c.in(0), T(1), c.grad_in(0));
        }
      });
}

#define TAPEGRAD_INSTANTIATE(T)                     \
  template Var<T> matmul<T>(Var<T>, Var<T>);        \
  template Var<T> matmul_nt<T>(Var<T>, Var<T>);     \
  template Var<T> transpose<T>(Var<T>);             \
  template Var<T> diag<T>(Var<T>);                  \
  template Var<T> scale_columns<T>(Var<T>, Var<T>); \
  template Var<T> gram<T>(Var<T>);                  \
  template Var<T> gram_rows<T>(Var<T>);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace tapegrad
