// The SVD losses as autodiff graphs, for the solver and for anyone who wants to time or reuse them.
#pragma once

#include "tapegrad/autodiff/ops.hpp"
#include "tapegrad/autodiff/tape.hpp"

namespace tapegrad::svd {

/// How a loss is split over processes that each hold a block of M's rows and the same rows of U
/// (solve_distributed fills it with tapegrad::mpi's collective ops; docs/scale-out.md). The default is one
/// process holding every row, and each hook is then the identity: the formula as written.
template <class T>
struct RowBlocks {
  /// Rows of M over all processes (0: one process).
  Index total_rows = 0;
  /// Enters a value that is the same on every process (d, s, V) into the per-row terms (mpi::replicated).
  Var<T> (*shared)(Var<T>) = nullptr;
  /// Adds up a per-process term over the processes (mpi::allreduce_sum).
  Var<T> (*across)(Var<T>) = nullptr;
};

/// The seed notebooks' loss, recorded on `tape`:
///   mse(U S Vᵀ, M) + mse(UᵀU, I)/100 + mse(V Vᵀ, I)/100,   S = diag(d²)
/// with U m×n, d 1×n (or n×1), V n×n, recorded as written with matmul, transpose, diag, square and mean;
/// the tape's graph optimizer runs it as scale_columns, matmul_nt, gram, gram_rows and mse (no n×n
/// product with diag(d²), no transposed copies, no residual matrix).
/// M is read in place (Tape::constant_view), not copied: `m` must outlive the tape's use of the loss.
template <class T>
Var<T> seed_loss(Tape<T>& tape, Parameter<T>& u, Parameter<T>& d, Parameter<T>& v, const Matrix<T>& m,
                 const RowBlocks<T>& rows = {});
/// A temporary matrix would be gone before the tape reads it.
template <class T>
Var<T> seed_loss(Tape<T>& tape, Parameter<T>& u, Parameter<T>& d, Parameter<T>& v, Matrix<T>&& m,
                 const RowBlocks<T>& rows = {}) = delete;

/// The auto recipe's loss (see docs/svd-auto.md), recorded on `tape`:
///   ½‖M − U diag(s) Vᵀ‖²_F + (μ/4)(‖UᵀU − I‖²_F + ‖VᵀV − I‖²_F)
/// with U m×k, s 1×k, V n×k, recorded as written (sum(square(...)) of matmul, transpose, diag). s enters
/// linearly, so no singular value can get stuck at zero.
/// M is read in place, as in seed_loss.
template <class T>
Var<T> auto_loss(Tape<T>& tape, Parameter<T>& u, Parameter<T>& s, Parameter<T>& v, const Matrix<T>& m, T mu,
                 const RowBlocks<T>& rows = {});
/// A temporary matrix would be gone before the tape reads it.
template <class T>
Var<T> auto_loss(Tape<T>& tape, Parameter<T>& u, Parameter<T>& s, Parameter<T>& v, Matrix<T>&& m, T mu,
                 const RowBlocks<T>& rows = {}) = delete;

}  // namespace tapegrad::svd
