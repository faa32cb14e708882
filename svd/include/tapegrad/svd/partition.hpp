// The row-partition seam of the SVD recipes: how a caller runs them on a block of rows of M, the sums and
// maxima over the other blocks done by hooks it provides. The svd library stays free of MPI: tapegrad::mpi
// (solve_distributed, tapegrad/mpi/svd.hpp) fills the hooks with its collective ops (docs/scale-out.md).
#pragma once

#include <functional>

#include "tapegrad/autodiff/tape.hpp"
#include "tapegrad/svd/solver.hpp"

namespace tapegrad::svd {

/// A row-partitioned run: this process holds rows [row_begin, row_begin + m.rows()) of a global_rows-row
/// matrix and the same rows of U; s (or d) and V are replicated. The recipes call these hooks; every hook is
/// collective (every process calls it, in the same order).
template <class T>
struct Partition {
  Index global_rows = 0;                      ///< the rows of M over all processes
  Index row_begin = 0;                        ///< the first of this process's rows
  bool root = true;                           ///< exactly one process (rank 0) has it
  std::function<void(double*, Index)> sum_d;  ///< in-place sums over processes, in double
  std::function<void(double*, Index)> max_d;  ///< in-place maxima over processes, in double
  std::function<void(T*, Index)> sum;         ///< in-place sums over processes, in T
  /// The recipe's loss on this process's rows (u, then d or s, then v, the rows m, mu), with the sums over
  /// processes in the right places (RowBlocks of tapegrad/svd/loss.hpp).
  std::function<Var<T>(Tape<T>&, Parameter<T>&, Parameter<T>&, Parameter<T>&, const Matrix<T>&, T)> loss;
};

/// Checks the options against a rows×cols matrix, as solve() does (the values are checked separately):
/// throws SvdOptionError.
void validate_options(Index rows, Index cols, const SvdOptions& options);

/// Runs the recipe options.recipe names, in T, on this process's rows `m` of the partitioned matrix (options
/// checked with validate_options first). Returns U (this process's rows), singular values, V, loss history
/// and status; not the errors (reconstruction_error, orthogonality_error), which need every process's rows.
template <class T>
SvdResult solve_partitioned(const Matrix<double>& m, const SvdOptions& options, const Partition<T>& part);

}  // namespace tapegrad::svd
