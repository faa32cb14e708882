// The seed loss hand-fused: what a user had to write for speed before the graph optimizer, with the fused
// ops called by name. svd::seed_loss is the notebook's formula as written (matmul, transpose, diag, square,
// mean) and the optimizer runs it as these same kernels; the benchmarks (bench_formula.cpp) time both
// against the hand-written gradient, and tests/autodiff/test_seed_gradient.cpp checks all three agree.
#pragma once

#include "tapegrad/autodiff.hpp"

namespace tapegrad::bench {

/// mse(U diag(d²) Vᵀ, M) + mse(UᵀU, I)/100 + mse(V Vᵀ, I)/100 with scale_columns, matmul_nt, crossprod,
/// tcrossprod and mse by name.
template <class T>
Var<T> hand_fused_seed_loss(Tape<T>& tape, Parameter<T>& u, Parameter<T>& d, Parameter<T>& v,
                            const Matrix<T>& m) {
  const Index n = v.rows();
  auto U = tape.parameter(u), D = tape.parameter(d), V = tape.parameter(v);
  auto I = tape.constant(Matrix<T>::Identity(n, n));
  auto fit = mse(matmul_nt(scale_columns(U, square(D)), V), tape.constant(m));
  auto orth_u = mse(crossprod(U), I);
  auto orth_v = mse(tcrossprod(V), I);
  return fit + orth_u / T(100) + orth_v / T(100);
}

}  // namespace tapegrad::bench
