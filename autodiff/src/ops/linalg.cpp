// matmul (and its transposed forms), transpose, diag, scale_columns, scale_rows, crossprod, tcrossprod.
#include "../gemm.hpp"
#include "costs.hpp"
#include "kernels.hpp"
#include "op_support.hpp"

namespace tapegrad {

using detail::gemm;
using detail::kTransA;
using detail::kTransB;
using detail::shape_of;

namespace detail {

// C = op(A) op(B), op(X) = X or Xᵀ (attr: kTransA, kTransB)
//   =>   dA += dC op(B)ᵀ  (Aᵀ in the product: dA += op(B) dCᵀ),
//        dB += op(A)ᵀ dC  (Bᵀ in the product: dB += dCᵀ op(A))
// A transpose is a GEMM flag, never a matrix, forward or backward.
// Cost, C m×n, inner dimension k: 2mnk forward, and 2mnk backward per input with a gradient (one GEMM each).
inline OpCost matmul_cost(const OpShapes& s, bool backward) {
  const double m = double(s.rows), n = double(s.cols);
  const double k = double((s.attr & kTransA) != 0 ? s.in_rows[0] : s.in_cols[0]);
  if (!backward) return {2 * m * n * k, m * k + k * n + m * n};
  OpCost c;
  if (s.needs_grad[0]) c = {c.flops + 2 * m * n * k, c.elements + m * n + k * n + 2 * m * k};
  if (s.needs_grad[1]) c = {c.flops + 2 * m * n * k, c.elements + m * n + m * k + 2 * k * n};
  return c;
}
template <class T>
void matmul_forward(OpContext<T>& c) {
  gemm((c.attr() & kTransA) != 0, (c.attr() & kTransB) != 0, T(1), c.in(0), c.in(1), T(0), c.out());
}
// The backward's products from a gradient g: da = beta_a da + g op(b)ᵀ (or its transposed form), db likewise;
// a null target is skipped.
template <class T>
void matmul_grads(bool ta, bool tb, const Matrix<T>& g, const Matrix<T>& a, const Matrix<T>& b, Matrix<T>* da,
                  T beta_a, Matrix<T>* db, T beta_b) {
  if (da) {
    if (!ta)
      gemm(false, !tb, T(1), g, b, beta_a, *da);
    else
      gemm(tb, true, T(1), b, g, beta_a, *da);
  }
  if (db) {
    if (!tb)
      gemm(!ta, false, T(1), a, g, beta_b, *db);
    else
      gemm(true, ta, T(1), g, a, beta_b, *db);
  }
}
template <class T>
void matmul_backward(OpContext<T>& c) {
  // beta 0: the first write of this gradient (no zeroed buffer to add to)
  matmul_grads((c.attr() & kTransA) != 0, (c.attr() & kTransB) != 0, c.grad_out(), c.in(0), c.in(1),
               c.needs_grad(0) ? &c.grad_in(0) : nullptr, c.beta(0),
               c.needs_grad(1) ? &c.grad_in(1) : nullptr, c.beta(1));
}
// Second order: Ċ = op(Ȧ) op(B) + op(A) op(Ḃ);  the backward dA += G op(B)ᵀ is bilinear in (G, B), so
// its tangent is dȦ += Ġ op(B)ᵀ + G op(Ḃ)ᵀ, and dḂ += op(A)ᵀ Ġ + op(Ȧ)ᵀ G (transposed forms alike).
// A tangent that is zero (an input with no gradient) is skipped.
template <class T>
void matmul_tangent(OpContext<T>& c) {
  const bool ta = (c.attr() & kTransA) != 0, tb = (c.attr() & kTransB) != 0;
  T beta = T(0);
  if (c.needs_grad(0)) {
    gemm(ta, tb, T(1), c.tangent_in(0), c.in(1), T(0), c.tangent_out());
    beta = T(1);
  }
  if (c.needs_grad(1))
    gemm(ta, tb, T(1), c.in(0), c.tangent_in(1), beta, c.tangent_out());
  else if (beta == T(0))
    c.tangent_out().setZero();
}
template <class T>
void matmul_tangent_backward(OpContext<T>& c) {
  const bool ta = (c.attr() & kTransA) != 0, tb = (c.attr() & kTransB) != 0;
  Matrix<T>* da = c.needs_grad(0) ? &c.grad_in_tangent(0) : nullptr;
  Matrix<T>* db = c.needs_grad(1) ? &c.grad_in_tangent(1) : nullptr;
  matmul_grads(ta, tb, c.grad_out_tangent(), c.in(0), c.in(1), da, T(1), db, T(1));
  if (db) matmul_grads<T>(ta, tb, c.grad_out(), c.tangent_in(0), c.in(1), nullptr, T(1), db, T(1));
  if (da) matmul_grads<T>(ta, tb, c.grad_out(), c.in(0), c.tangent_in(1), da, T(1), nullptr, T(1));
}

template <class T>
const OpDef<T>& matmul_op(std::uint32_t flags) {
  static constexpr OpDef<T> ops[4] = {{"matmul", OpKind::matmul, matmul_forward<T>, matmul_backward<T>,
                                       matmul_cost, true, matmul_tangent<T>, matmul_tangent_backward<T>},
                                      {"matmul_tn", OpKind::custom, matmul_forward<T>, matmul_backward<T>,
                                       matmul_cost, true, matmul_tangent<T>, matmul_tangent_backward<T>},
                                      {"matmul_nt", OpKind::custom, matmul_forward<T>, matmul_backward<T>,
                                       matmul_cost, true, matmul_tangent<T>, matmul_tangent_backward<T>},
                                      {"matmul_tt", OpKind::custom, matmul_forward<T>, matmul_backward<T>,
                                       matmul_cost, true, matmul_tangent<T>, matmul_tangent_backward<T>}};
  return ops[flags & 3];
}

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

// out = beta out + a (g + gᵀ) (rows: (g + gᵀ) a), one product when g is symmetric: crossprod's (tcrossprod's)
// backward with beta = OpContext::beta, and with beta 1 both terms of its tangent backward.
template <class T>
void sym_product(bool rows, const Matrix<T>& a, const Matrix<T>& g, T beta, Matrix<T>& out) {
  if (is_symmetric(g)) {
    if (rows)
      gemm(false, false, T(2), g, a, beta, out);
    else
      gemm(false, false, T(2), a, g, beta, out);
  } else if (rows) {
    gemm(false, false, T(1), g, a, beta, out);
    gemm(true, false, T(1), g, a, T(1), out);
  } else {
    gemm(false, false, T(1), a, g, beta, out);
    gemm(false, true, T(1), a, g, T(1), out);
  }
}

// c = x + xᵀ in place (square x): the symmetric part of a product, made from one GEMM instead of two.
template <class T>
void add_transpose_in_place(Matrix<T>& c) {
  const Index n = c.rows();
  for (Index j = 0; j < n; ++j) {
    c(j, j) *= T(2);
    for (Index i = 0; i < j; ++i) c(i, j) = c(j, i) = c(i, j) + c(j, i);
  }
}

// crossprod (Rows false) and tcrossprod (Rows true): one definition, the two mirror each other.
// G = AᵀA   =>   dA += A (dG + dGᵀ)   (one product, A (2 dG), when dG is symmetric, as a loss of G makes it)
// G = A Aᵀ  =>   dA += (dG + dGᵀ) A   (likewise (2 dG) A)
// Cost, A m×k and G n×n (n = k; Rows: m): a triangle of G, m·k·(n+1); backward one GEMM, 2mkn (counted for a
// symmetric dG: an asymmetric one takes two).
template <class T, bool Rows>
const OpDef<T>& crossprod_op_of() {
  static constexpr CostFn cost = [](const OpShapes& s, bool backward) -> OpCost {
    const double m = double(s.in_rows[0]), k = double(s.in_cols[0]), n = Rows ? m : k;
    return backward ? OpCost{2 * m * k * n, n * n + 3 * m * k} : OpCost{m * k * (n + 1), m * k + n * n};
  };
  static constexpr OpDef<T> op{
      Rows ? "tcrossprod" : "crossprod", OpKind::custom,
      [](OpContext<T>& c) { detail::syrk(Rows, T(1), c.in(0), T(0), c.out()); },
      [](OpContext<T>& c) { sym_product(Rows, c.in(0), c.grad_out(), c.beta(0), c.grad_in(0)); }, cost, true,
      // Ċ = ȦᵀA + AᵀȦ = X + Xᵀ with X = ȦᵀA   (Rows: Ȧ Aᵀ + A Ȧᵀ, X = Ȧ Aᵀ)
      [](OpContext<T>& c) {
        gemm(!Rows, Rows, T(1), c.tangent_in(0), c.in(0), T(0), c.tangent_out());
        add_transpose_in_place(c.tangent_out());
      },
      // dȦ += Ȧ (G + Gᵀ) + A (Ġ + Ġᵀ)   (Rows: (G + Gᵀ) Ȧ + (Ġ + Ġᵀ) A)
      [](OpContext<T>& c) {
        auto& out = c.grad_in_tangent(0);
        sym_product(Rows, c.tangent_in(0), c.grad_out(), T(1), out);
        sym_product(Rows, c.in(0), c.grad_out_tangent(), T(1), out);
      }};
  return op;
}

template <class T>
const OpDef<T>& crossprod_op() {
  return crossprod_op_of<T, false>();
}

template <class T>
const OpDef<T>& tcrossprod_op() {
  return crossprod_op_of<T, true>();
}

// The cost of scale_columns (v is input V = 1) and scale_rows (V = 0), N = entries of C: N (reading the
// matrix and v, writing C); backward 2N for each input with a gradient, the matrix's (∘, +=) and v's (∘, Σ).
template <int V>
OpCost scaling_cost(const OpShapes& s, bool backward) {
  const double N = out_size(s), v = in_size(s, V);
  if (!backward) return {N, 2 * N + v};
  OpCost c;
  for (int k = 0; k < 2; ++k) {
    if (s.needs_grad[k]) c = {c.flops + 2 * N, c.elements + (k == V ? 2 * N + 2 * v : 3 * N + v)};
  }
  return c;
}

template <class T>
const OpDef<T>& scale_columns_op() {
  // C = A diag(v), C_ij = A_ij v_j   =>   dA += dC diag(v),   dv_j += Σ_i dC_ij A_ij
  // (cost: scaling_cost<1>)
  static constexpr OpDef<T> op{
      "scale_columns", OpKind::custom,
      [](OpContext<T>& c) { c.out().noalias() = c.in(0) * c.in(1).reshaped().asDiagonal(); },
      [](OpContext<T>& c) {
        if (c.needs_grad(0)) c.add_to_grad(0, c.grad_out() * c.in(1).reshaped().asDiagonal());
        if (c.needs_grad(1)) {
          const auto dv = (c.grad_out().array() * c.in(0).array()).colwise().sum().transpose().matrix();
          if (c.first(1))
            c.grad_in(1).reshaped() = dv;
          else
            c.grad_in(1).reshaped() += dv;
        }
      },
      scaling_cost<1>, true,
      // Ċ = Ȧ diag(v) + A diag(v̇)
      [](OpContext<T>& c) {
        c.tangent_out().noalias() = c.tangent_in(0) * c.in(1).reshaped().asDiagonal();
        c.tangent_out().noalias() += c.in(0) * c.tangent_in(1).reshaped().asDiagonal();
      },
      // dȦ += Ġ diag(v) + G diag(v̇),   dv̇_j += Σ_i (Ġ_ij A_ij + G_ij Ȧ_ij)
      [](OpContext<T>& c) {
        const auto &g = c.grad_out(), &dg = c.grad_out_tangent();
        if (c.needs_grad(0)) {
          c.grad_in_tangent(0).noalias() += dg * c.in(1).reshaped().asDiagonal();
          c.grad_in_tangent(0).noalias() += g * c.tangent_in(1).reshaped().asDiagonal();
        }
        if (c.needs_grad(1)) {
          c.grad_in_tangent(1).reshaped() +=
              (dg.array() * c.in(0).array() + g.array() * c.tangent_in(0).array())
                  .colwise()
                  .sum()
                  .transpose()
                  .matrix();
        }
      }};
  return op;
}

template <class T>
const OpDef<T>& scale_rows_op() {
  // C = diag(v) B, C_ij = v_i B_ij   =>   dv_i += Σ_j dC_ij B_ij,   dB += diag(v) dC   (inputs: v, B)
  // (cost: scaling_cost<0>)
  static constexpr OpDef<T> op{
      "scale_rows", OpKind::custom,
      [](OpContext<T>& c) { c.out().noalias() = c.in(0).reshaped().asDiagonal() * c.in(1); },
      [](OpContext<T>& c) {
        if (c.needs_grad(0)) {
          const auto dv = (c.grad_out().array() * c.in(1).array()).rowwise().sum().matrix();
          if (c.first(0))
            c.grad_in(0).reshaped() = dv;
          else
            c.grad_in(0).reshaped() += dv;
        }
        if (c.needs_grad(1)) c.add_to_grad(1, c.in(0).reshaped().asDiagonal() * c.grad_out());
      },
      scaling_cost<0>, true,
      // Ċ = diag(v̇) B + diag(v) Ḃ
      [](OpContext<T>& c) {
        c.tangent_out().noalias() = c.tangent_in(0).reshaped().asDiagonal() * c.in(1);
        c.tangent_out().noalias() += c.in(0).reshaped().asDiagonal() * c.tangent_in(1);
      },
      // dv̇_i += Σ_j (Ġ_ij B_ij + G_ij Ḃ_ij),   dḂ += diag(v) Ġ + diag(v̇) G
      [](OpContext<T>& c) {
        const auto &g = c.grad_out(), &dg = c.grad_out_tangent();
        if (c.needs_grad(0)) {
          c.grad_in_tangent(0).reshaped() +=
              (dg.array() * c.in(1).array() + g.array() * c.tangent_in(1).array()).rowwise().sum().matrix();
        }
        if (c.needs_grad(1)) {
          c.grad_in_tangent(1).noalias() += c.in(0).reshaped().asDiagonal() * dg;
          c.grad_in_tangent(1).noalias() += c.tangent_in(0).reshaped().asDiagonal() * g;
        }
      }};
  return op;
}

}  // namespace detail

template <class T>
Var<T> matmul(Var<T> a, Var<T> b) {
  // C = A B   =>   dA += dC Bᵀ,   dB += Aᵀ dC   (detail::matmul_backward)
  Tape<T>& t = detail::same_tape("matmul", a, b);
  if (a.cols() != b.rows()) throw ShapeError("matmul: cannot multiply " + shape_of(a) + " by " + shape_of(b));
  return t.record(detail::matmul_op<T>(0), {a, b}, a.rows(), b.cols());
}

template <class T>
Var<T> matmul_nt(Var<T> a, Var<T> b) {
  // C = A Bᵀ   =>   dA += dC B,   dB += dCᵀ A   (the transpose is a GEMM flag, never a matrix)
  Tape<T>& t = detail::same_tape("matmul_nt", a, b);
  if (a.cols() != b.cols()) {
    throw ShapeError("matmul_nt: cannot multiply " + shape_of(a) + " by the transpose of " + shape_of(b));
  }
  return t.record(detail::matmul_op<T>(kTransB), {a, b}, a.rows(), b.rows(), T(0), kTransB);
}

template <class T>
Var<T> transpose(Var<T> a) {
  // C = Aᵀ   =>   dA += dCᵀ   (cost: no FLOPs, a copy; backward n adds)
  // Linear: Ċ = Ȧᵀ,   dȦ += Ġᵀ
  static constexpr OpDef<T> op{
      "transpose",
      OpKind::transpose,
      [](OpContext<T>& c) { c.out().noalias() = c.in(0).transpose(); },
      [](OpContext<T>& c) { c.grad_in(0) += c.grad_out().transpose(); },
      detail::unary_cost<0, 1, 0>,
      false,
      [](OpContext<T>& c) { c.tangent_out().noalias() = c.tangent_in(0).transpose(); },
      [](OpContext<T>& c) { c.grad_in_tangent(0) += c.grad_out_tangent().transpose(); }};
  return a.tape().record(op, {a}, a.cols(), a.rows());
}

template <class T>
Var<T> diag(Var<T> a) {
  if (detail::is_vector(a)) {
    // C = diag(v) (n×n)   =>   dv += diagonal(dC)   (shaped like v; cost: writes n², no FLOPs; backward n)
    static constexpr CostFn cost = [](const OpShapes& s, bool backward) -> OpCost {
      const double n = detail::in_size(s, 0);
      return backward ? OpCost{n, 3 * n} : OpCost{0, n + n * n};
    };
    // Linear: Ċ = diag(v̇),   dv̇ += diagonal(Ġ)
    static constexpr OpDef<T> op{
        "diag",
        OpKind::diag,
        [](OpContext<T>& c) {
          c.out().setZero();
          c.out().diagonal() = c.in(0).reshaped();
        },
        [](OpContext<T>& c) { c.grad_in(0).reshaped() += c.grad_out().diagonal(); },
        cost,
        false,
        [](OpContext<T>& c) {
          c.tangent_out().setZero();
          c.tangent_out().diagonal() = c.tangent_in(0).reshaped();
        },
        [](OpContext<T>& c) { c.grad_in_tangent(0).reshaped() += c.grad_out_tangent().diagonal(); }};
    const Index n = a.rows() * a.cols();
    return a.tape().record(op, {a}, n, n);
  }
  if (a.rows() != a.cols()) {
    throw ShapeError("diag: expects a vector (1xn or nx1) or a square matrix, got " + shape_of(a));
  }
  // c = diagonal(A) (n×1)   =>   dA += diag(dc)   (cost: a copy of n entries; backward n)
  // Linear: ċ = diagonal(Ȧ),   dȦ += diag(Ġ)
  static constexpr OpDef<T> op{
      "diagonal",
      OpKind::custom,
      [](OpContext<T>& c) { c.out() = c.in(0).diagonal(); },
      [](OpContext<T>& c) { c.grad_in(0).diagonal() += c.grad_out(); },
      detail::unary_cost<0, 1, 0>,
      false,
      [](OpContext<T>& c) { c.tangent_out() = c.tangent_in(0).diagonal(); },
      [](OpContext<T>& c) { c.grad_in_tangent(0).diagonal() += c.grad_out_tangent(); }};
  return a.tape().record(op, {a}, a.rows(), 1);
}

namespace {
// Records op (scale_columns_op on inputs (A, v), or scale_rows_op on (v, B)) after checking that v is a
// vector with an entry for each column (row) of the matrix.
template <class T>
Var<T> record_scaling(const OpDef<T>& op, Var<T> in0, Var<T> in1, bool rows) {
  const Var<T>& m = rows ? in1 : in0;
  const Var<T>& v = rows ? in0 : in1;
  const Index n = rows ? m.rows() : m.cols();
  Tape<T>& t = detail::same_tape(op.name, in0, in1);
  if (!detail::is_vector(v) || v.rows() * v.cols() != n) {
    throw ShapeError(std::string(op.name) + ": cannot scale the " + (rows ? "rows" : "columns") + " of " +
                     shape_of(m) + " by " + shape_of(v) + " (needs a vector of " + std::to_string(n) +
                     " entries)");
  }
  return t.record(op, {in0, in1}, m.rows(), m.cols());
}
}  // namespace

template <class T>
Var<T> scale_columns(Var<T> a, Var<T> v) {
  // C = A diag(v)   (detail::scale_columns_op)
  return record_scaling(detail::scale_columns_op<T>(), a, v, false);
}

template <class T>
Var<T> scale_rows(Var<T> v, Var<T> b) {
  // C = diag(v) B   (detail::scale_rows_op)
  return record_scaling(detail::scale_rows_op<T>(), v, b, true);
}

template <class T>
Var<T> crossprod(Var<T> a) {
  return a.tape().record(detail::crossprod_op<T>(), {a}, a.cols(), a.cols());
}

template <class T>
Var<T> tcrossprod(Var<T> a) {
  return a.tape().record(detail::tcrossprod_op<T>(), {a}, a.rows(), a.rows());
}

#define TAPEGRAD_INSTANTIATE(T)                                 \
  template Var<T> matmul<T>(Var<T>, Var<T>);                    \
  template Var<T> matmul_nt<T>(Var<T>, Var<T>);                 \
  template Var<T> transpose<T>(Var<T>);                         \
  template Var<T> diag<T>(Var<T>);                              \
  template Var<T> scale_columns<T>(Var<T>, Var<T>);             \
  template Var<T> scale_rows<T>(Var<T>, Var<T>);                \
  template Var<T> crossprod<T>(Var<T>);                         \
  template Var<T> tcrossprod<T>(Var<T>);                        \
  template const OpDef<T>& detail::matmul_op<T>(std::uint32_t); \
  template const OpDef<T>& detail::crossprod_op<T>();           \
  template const OpDef<T>& detail::tcrossprod_op<T>();          \
  template const OpDef<T>& detail::scale_columns_op<T>();       \
  template const OpDef<T>& detail::scale_rows_op<T>();
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace tapegrad
