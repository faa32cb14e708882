// The seed loss as a user writes it: the notebook's formula, op for op, recorded on a tape. The benchmarks
// (bench_formula.cpp) time it against the hand-fused svd::seed_loss and the hand-written gradient
// (tests/support/seed_gradient.hpp); tests/autodiff/test_seed_gradient.cpp checks its gradients.
#pragma once

#include "tapegrad/autodiff.hpp"

namespace tapegrad::bench {

/// The notebook's loss, verbatim (PyTorch: `mse(U @ diag(d*d) @ V.T, M) + mse(U.T @ U, I)/100 +
/// mse(V @ V.T, I)/100`), with no hand fusion: diag(d²) is a real n×n matrix, Vᵀ and Uᵀ real transposes,
/// UᵀU and V Vᵀ plain products. `eye` is the n×n identity, made once by the caller (as the notebook's
/// torch.eye(n) is made once, outside the training loop).
template <class T>
Var<T> literal_seed_loss(Tape<T>& tape, Parameter<T>& u, Parameter<T>& dp, Parameter<T>& v,
                         const Matrix<T>& m, const Matrix<T>& eye) {
  auto U = tape.parameter(u), d = tape.parameter(dp), V = tape.parameter(v);
  auto M = tape.constant(m), I = tape.constant(eye);
  // The notebook's formula, verbatim.
  return mean(square(matmul(matmul(U, diag(square(d))), transpose(V)) - M)) +
         mean(square(matmul(transpose(U), U) - I)) / 100.0 +
         mean(square(matmul(V, transpose(V)) - I)) / 100.0;
}

}  // namespace tapegrad::bench
