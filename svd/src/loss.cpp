#include "tapegrad/svd/loss.hpp"

namespace tapegrad::svd {

template <class T>
Var<T> seed_loss(Tape<T>& tape, Parameter<T>& u, Parameter<T>& d, Parameter<T>& v, const Matrix<T>& m) {
  const Index n = v.rows();
  auto U = tape.parameter(u), diag_sqrt = tape.parameter(d), V = tape.parameter(v);
  auto M = tape.constant(m, "M"), I = tape.constant(Matrix<T>::Identity(n, n), "I");
  // The notebook's formula as written (02 SVD): S = diag(diag_sqrt²),
  //   mse(U S Vᵀ, M) + mse(UᵀU, I)/100 + mse(V Vᵀ, I)/100.
  // The graph optimizer runs it as scale_columns, matmul_nt, gram, gram_rows and mse
  // (docs/graph-optimizer.md).
  auto S = diag(square(diag_sqrt));
  auto fit = mean(square(matmul(matmul(U, S), transpose(V)) - M));
  auto orth_u = mean(square(matmul(transpose(U), U) - I));
  auto orth_v = mean(square(matmul(V, transpose(V)) - I));
  return fit + orth_u / T(100) + orth_v / T(100);
}

template <class T>
Var<T> auto_loss(Tape<T>& tape, Parameter<T>& u, Parameter<T>& s, Parameter<T>& v, const Matrix<T>& m, T mu) {
  const Index k = u.cols();
  auto U = tape.parameter(u), S = tape.parameter(s), V = tape.parameter(v);
  auto M = tape.constant(m, "M"), I = tape.constant(Matrix<T>::Identity(k, k), "I");
  // ½‖U diag(s) Vᵀ − M‖²_F + (μ/4)(‖UᵀU − I‖²_F + ‖VᵀV − I‖²_F) as written; the graph optimizer runs it as
  // scale_columns, matmul_nt, gram and sum_squared_difference.
  auto fit = sum(square(matmul(matmul(U, diag(S)), transpose(V)) - M)) * T(0.5);
  auto orth = sum(square(matmul(transpose(U), U) - I)) + sum(square(matmul(transpose(V), V) - I));
  return fit + orth * (mu / T(4));
}

template Var<float> seed_loss<float>(Tape<float>&, Parameter<float>&, Parameter<float>&, Parameter<float>&,
                                     const Matrix<float>&);
template Var<double> seed_loss<double>(Tape<double>&, Parameter<double>&, Parameter<double>&,
                                       Parameter<double>&, const Matrix<double>&);
template Var<float> auto_loss<float>(Tape<float>&, Parameter<float>&, Parameter<float>&, Parameter<float>&,
                                     const Matrix<float>&, float);
template Var<double> auto_loss<double>(Tape<double>&, Parameter<double>&, Parameter<double>&,
                                       Parameter<double>&, const Matrix<double>&, double);

}  // namespace tapegrad::svd
