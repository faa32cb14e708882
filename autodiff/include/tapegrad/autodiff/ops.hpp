// The ops: each records one node on its inputs' tape. Shapes are checked when the node is
// recorded; a mismatch throws ShapeError naming the op and the shapes. Each op's forward,
// backward and derivative live together in one function in autodiff/src/ops/*.cpp.
//
// Binary arithmetic (add, sub, mul, div) broadcasts like NumPy in two dimensions: each dimension
// of each operand equals the other's or is 1, so a 1xC row vector (bias) applies to every row,
// an Rx1 column vector to every column, and a 1x1 to everything.
#pragma once

#include <type_traits>

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
Var<T> gram(Var<T> a);
/// C = A Aᵀ, the Gram matrix of A's rows: matmul(a, transpose(a)) as a symmetric rank-k update (half the work
/// forward, one product backward). dA = (G + Gᵀ) A.
template <class T>
Var<T> gram_rows(Var<T> a);

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
  return add(a, b);
}
/// a - b: sub(a, b).
template <class T>
Var<T> operator-(Var<T> a, Var<T> b) {
  return sub(a, b);
}
/// -a: neg(a).
template <class T>
Var<T> operator-(Var<T> a) {
  return neg(a);
}
/// a + s for a scalar s of any arithmetic type: add(a, s).
template <class T, class S>
Var<T> operator+(Var<T> a, S s) {
  static_assert(detail::is_scalar_v<S>,
                "tapegrad: Var + x: x must be a Var of the same scalar type or an arithmetic scalar (int, "
                "double, ...)");
  return add(a, static_cast<T>(s));
}
/// s + a: add(a, s).
template <class S, class T>
requires(!detail::is_var_v<S>) Var<T>
operator+(S s, Var<T> a) {
  static_assert(detail::is_scalar_v<S>,
                "tapegrad: x + Var: x must be an arithmetic scalar (int, double, ...)");
  return add(a, static_cast<T>(s));
}
/// a - s: add(a, -s).
template <class T, class S>
Var<T> operator-(Var<T> a, S s) {
  static_assert(detail::is_scalar_v<S>,
                "tapegrad: Var - x: x must be a Var of the same scalar type or an arithmetic scalar (int, "
                "double, ...)");
  return add(a, -static_cast<T>(s));
}
/// s - a: sub(s, a).
template <class S, class T>
requires(!detail::is_var_v<S>) Var<T>
operator-(S s, Var<T> a) {
  static_assert(detail::is_scalar_v<S>,
                "tapegrad: x - Var: x must be an arithmetic scalar (int, double, ...)");
  return sub(static_cast<T>(s), a);
}
/// a * s for a scalar s: mul(a, s). Between two Vars * does not compile: say matmul or mul.
template <class T, class S>
Var<T> operator*(Var<T> a, S s) {
  static_assert(
      !detail::is_var_v<S>,
      "tapegrad: Var * Var is not defined (matrix or elementwise product?): write matmul(a, b) or mul(a, b)");
  static_assert(detail::is_var_v<S> || detail::is_scalar_v<S>,
                "tapegrad: Var * x: x must be an arithmetic scalar (int, double, ...)");
  return mul(a, static_cast<T>(s));
}
/// s * a: mul(a, s).
template <class S, class T>
requires(!detail::is_var_v<S>) Var<T>
operator*(S s, Var<T> a) {
  static_assert(detail::is_scalar_v<S>,
                "tapegrad: x * Var: x must be an arithmetic scalar (int, double, ...)");
  return mul(a, static_cast<T>(s));
}
/// a / s for a scalar s: mul(a, 1 / s). Between two Vars / does not compile: say div.
template <class T, class S>
Var<T> operator/(Var<T> a, S s) {
  static_assert(!detail::is_var_v<S>, "tapegrad: Var / Var is not defined: write div(a, b) (elementwise)");
  static_assert(detail::is_var_v<S> || detail::is_scalar_v<S>,
                "tapegrad: Var / x: x must be an arithmetic scalar (int, double, ...)");
  return mul(a, T(1) / static_cast<T>(s));
}
/// s / a elementwise: div(s, a).
template <class S, class T>
requires(!detail::is_var_v<S>) Var<T>
operator/(S s, Var<T> a) {
  static_assert(detail::is_scalar_v<S>,
                "tapegrad: x / Var: x must be an arithmetic scalar (int, double, ...)");
  return div(static_cast<T>(s), a);
}

}  // namespace tapegrad
