#include "tapegrad/svd/loss.hpp"

#include "tapegrad/svd/partition.hpp"

namespace tapegrad::svd {

namespace {

// The hooks of RowBlocks, the identity on one process.
template <class T>
Var<T> shared(const RowBlocks<T>& rows, Var<T> x) {
  return rows.processes ? rows.processes->shared(x) : x;
}
template <class T>
Var<T> across(const RowBlocks<T>& rows, Var<T> x) {
  return rows.processes ? rows.processes->across(x) : x;
}
// The mean of x's entries over every process's rows.
template <class T>
Var<T> mean_over_rows(const RowBlocks<T>& rows, Var<T> x) {
  if (!rows.processes) return mean(x);
  return rows.processes->across(sum(x)) / T(double(rows.total_rows) * double(x.cols()));
}

}  // namespace

template <class T>
Var<T> seed_loss(Tape<T>& tape, Parameter<T>& u, Parameter<T>& d, Parameter<T>& v, const Matrix<T>& m,
                 const RowBlocks<T>& rows) {
  const Index n = v.rows();
  auto U = tape.parameter(u), diag_sqrt = tape.parameter(d), V = tape.parameter(v);
  auto M = tape.constant_view(m, "M"), I = tape.constant(Matrix<T>::Identity(n, n), "I");
  // The notebook's formula as written (02 SVD): S = diag(diag_sqrt²),
  //   mse(U S Vᵀ, M) + mse(UᵀU, I)/100 + mse(V Vᵀ, I)/100.
  // The graph optimizer runs it as scale_columns, matmul_nt, crossprod, tcrossprod and mse
  // (docs/graph-optimizer.md). Over row blocks, d and V enter the fit as shared values, and the fit's mean
  // and UᵀU add up over processes.
  auto S = diag(square(shared(rows, diag_sqrt)));
  auto fit = mean_over_rows(rows, square(matmul(matmul(U, S), transpose(shared(rows, V))) - M));
  auto orth_u = mean(square(across(rows, matmul(transpose(U), U)) - I));
  auto orth_v = mean(square(matmul(V, transpose(V)) - I));
  return fit + orth_u / T(100) + orth_v / T(100);
}

template <class T>
Var<T> auto_loss(Tape<T>& tape, Parameter<T>& u, Parameter<T>& s, Parameter<T>& v, const Matrix<T>& m, T mu,
                 const RowBlocks<T>& rows) {
  const Index k = u.cols();
  auto U = tape.parameter(u), S = tape.parameter(s), V = tape.parameter(v);
  auto M = tape.constant_view(m, "M"), I = tape.constant(Matrix<T>::Identity(k, k), "I");
  // ½‖U diag(s) Vᵀ − M‖²_F + (μ/4)(‖UᵀU − I‖²_F + ‖VᵀV − I‖²_F) as written; the graph optimizer runs it as
  // scale_columns, matmul_nt, crossprod and sum_squared_difference. Over row blocks as seed_loss.
  auto residual = matmul(matmul(U, diag(shared(rows, S))), transpose(shared(rows, V))) - M;
  auto fit = across(rows, sum(square(residual))) * T(0.5);
  auto orth =
      sum(square(across(rows, matmul(transpose(U), U)) - I)) + sum(square(matmul(transpose(V), V) - I));
  return fit + orth * (mu / T(4));
}

template <class T>
Var<T> auto_loss_expanded(Tape<T>& tape, Parameter<T>& u, Parameter<T>& s, Parameter<T>& v,
                          const Matrix<T>& m, T mu, const RowBlocks<T>& rows) {
  const Index k = u.cols();
  auto U = tape.parameter(u), S = tape.parameter(s), V = tape.parameter(v);
  auto M = tape.constant_view(m, "M"), I = tape.constant(Matrix<T>::Identity(k, k), "I");
  // ½‖U diag(s) Vᵀ − M‖²_F − ½‖M‖²_F = −tr(diag(s) Uᵀ M V) + ½ tr(diag(s) UᵀU diag(s) VᵀV), with
  //   tr(diag(s) Uᵀ M V)            = Σ_ij U_ij (M V)_ij s_j   (sum of U ∘ (M V) ∘ s, s broadcast over rows),
  //   tr(diag(s) UᵀU diag(s) VᵀV)  = Σ_ij (UᵀU)_ij (VᵀV)_ij s_i s_j   (UᵀU, VᵀV symmetric),
  // plus the same penalty as auto_loss, which shares UᵀU and VᵀV. The products with M are m×n×k GEMMs (M V
  // forward, Mᵀ G backward); every other value is m×k, n×k or k×k. Over row blocks, U ∘ (M V) and UᵀU add
  // up over processes and s, V enter as shared values.
  auto Vs = shared(rows, V), Ss = shared(rows, S);
  auto cross = across(rows, sum(mul(mul(U, matmul(M, Vs)), Ss)));
  auto UtU = across(rows, matmul(transpose(U), U)), VtV = matmul(transpose(V), V);
  auto quad = sum(mul(mul(UtU, VtV), matmul(transpose(S), S)));
  auto orth = sum(square(UtU - I)) + sum(square(VtV - I));
  return quad * T(0.5) - cross + orth * (mu / T(4));
}

template <class T>
Var<T> auto_recipe_loss(Tape<T>& tape, Parameter<T>& u, Parameter<T>& s, Parameter<T>& v, const Matrix<T>& m,
                        T mu, const RowBlocks<T>& rows) {
  const Index global_rows = rows.total_rows > 0 ? rows.total_rows : m.rows();
  return auto_loss_expands(global_rows, m.cols(), u.cols()) ? auto_loss_expanded(tape, u, s, v, m, mu, rows)
                                                            : auto_loss(tape, u, s, v, m, mu, rows);
}

#define TAPEGRAD_INSTANTIATE(T)                                                                            \
  template Var<T> seed_loss<T>(Tape<T>&, Parameter<T>&, Parameter<T>&, Parameter<T>&, const Matrix<T>&,    \
                               const RowBlocks<T>&);                                                       \
  template Var<T> auto_loss<T>(Tape<T>&, Parameter<T>&, Parameter<T>&, Parameter<T>&, const Matrix<T>&, T, \
                               const RowBlocks<T>&);                                                       \
  template Var<T> auto_loss_expanded<T>(Tape<T>&, Parameter<T>&, Parameter<T>&, Parameter<T>&,             \
                                        const Matrix<T>&, T, const RowBlocks<T>&);                         \
  template Var<T> auto_recipe_loss<T>(Tape<T>&, Parameter<T>&, Parameter<T>&, Parameter<T>&,               \
                                      const Matrix<T>&, T, const RowBlocks<T>&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace tapegrad::svd
