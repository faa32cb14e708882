// The SVD losses as autodiff graphs, for the solver and for anyone who wants to time or reuse them.
#pragma once

#include <algorithm>

#include "tapegrad/autodiff/ops.hpp"
#include "tapegrad/autodiff/tape.hpp"

namespace tapegrad::svd {

class Collectives;  // tapegrad/svd/partition.hpp

/// How a loss is split over processes that each hold a block of M's rows and the same rows of U
/// (solve_distributed fills it with tapegrad::mpi's collective ops; docs/scale-out.md). The default is one
/// process holding every row: the formula as written.
template <class T>
struct RowBlocks {
  /// Rows of M over all processes (0: one process).
  Index total_rows = 0;
  /// The processes (null: one): Collectives::shared enters a value that is the same on every process (d, s,
  /// V) into the per-row terms; Collectives::across adds up a per-process term over the processes.
  const Collectives* processes = nullptr;
};

/// The seed notebooks' loss, recorded on `tape`:
///   mse(U S Vᵀ, M) + mse(UᵀU, I)/100 + mse(V Vᵀ, I)/100,   S = diag(d²)
/// with U m×n, d 1×n (or n×1), V n×n, recorded as written with matmul, transpose, diag, square and mean;
/// the tape's graph optimizer runs it as scale_columns, matmul_nt, crossprod, tcrossprod and mse (no n×n
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

/// auto_loss without its constant ½‖M‖²_F, expanded so that no m×n matrix but M is formed:
///   −tr(diag(s) Uᵀ M V) + ½ tr(diag(s) UᵀU diag(s) VᵀV) + (μ/4)(‖UᵀU − I‖²_F + ‖VᵀV − I‖²_F)
/// = auto_loss − ½‖M‖²_F. Same gradient; one evaluation costs two m×n×k products (M V and its backward Mᵀ G)
/// and O((m + n)·k) memory beyond M, against auto_loss's three products and m×n residual. For the top-k
/// triplets of a large M. M is read in place, as in seed_loss.
template <class T>
Var<T> auto_loss_expanded(Tape<T>& tape, Parameter<T>& u, Parameter<T>& s, Parameter<T>& v,
                          const Matrix<T>& m, T mu, const RowBlocks<T>& rows = {});
/// A temporary matrix would be gone before the tape reads it.
template <class T>
Var<T> auto_loss_expanded(Tape<T>& tape, Parameter<T>& u, Parameter<T>& s, Parameter<T>& v, Matrix<T>&& m,
                          T mu, const RowBlocks<T>& rows = {}) = delete;

/// Whether the auto recipe minimises auto_loss_expanded (true: the top-k triplets, k < min(m, n), of an
/// m×n matrix) or auto_loss (a full SVD, whose residual form's value goes to zero with the residual, so that
/// the line search resolves decreases far below ε·‖M‖²_F; docs/svd-auto.md).
inline bool auto_loss_expands(Index m, Index n, Index k) { return k < std::min(m, n); }

/// The auto recipe's loss for these shapes (the solver, `tapegrad-svd --graph` and `--profile` record this):
/// auto_loss_expanded if auto_loss_expands(rows of M over every process, columns, k), else auto_loss.
template <class T>
Var<T> auto_recipe_loss(Tape<T>& tape, Parameter<T>& u, Parameter<T>& s, Parameter<T>& v, const Matrix<T>& m,
                        T mu, const RowBlocks<T>& rows = {});
/// A temporary matrix would be gone before the tape reads it.
template <class T>
Var<T> auto_recipe_loss(Tape<T>& tape, Parameter<T>& u, Parameter<T>& s, Parameter<T>& v, Matrix<T>&& m, T mu,
                        const RowBlocks<T>& rows = {}) = delete;

}  // namespace tapegrad::svd
