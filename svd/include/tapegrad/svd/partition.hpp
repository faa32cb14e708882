// The row-partition seam of the SVD recipes: how a caller runs them on a block of rows of M, the sums and
// maxima over the other blocks done by an implementation of Collectives it provides. The svd library stays
// free of MPI: tapegrad::mpi (solve_distributed, tapegrad/mpi/svd.hpp) implements Collectives with its
// collective ops (docs/scale-out.md).
#pragma once

#include "tapegrad/autodiff/tape.hpp"
#include "tapegrad/svd/loss.hpp"
#include "tapegrad/svd/solver.hpp"

namespace tapegrad::svd {

/// What a row-partitioned run needs from the processes that share it: sums and maxima over them, and the two
/// collective ops of its loss. tapegrad::mpi implements it over its Context (solve_distributed). Every call
/// is collective: every process makes it, in the same order.
class Collectives {
 public:
  virtual ~Collectives() = default;
  /// This process's rank (0: the one that reports).
  virtual int rank() const = 0;
  /// In-place sums of `count` values over the processes.
  virtual void sum(double* values, Index count) const = 0;
  /// The same in float.
  virtual void sum(float* values, Index count) const = 0;
  /// In-place maxima of `count` values over the processes.
  virtual void max(double* values, Index count) const = 0;
  /// Y = X, where X holds the same value on every process; backward: the gradient summed over processes.
  virtual Var<float> shared(Var<float> x) const = 0;
  /// The same in double.
  virtual Var<double> shared(Var<double> x) const = 0;
  /// Y = Σ_p X_p on every process; backward: the gradient passed through.
  virtual Var<float> across(Var<float> x) const = 0;
  /// The same in double.
  virtual Var<double> across(Var<double> x) const = 0;
};

/// A row-partitioned run: this process holds rows [row_begin, row_begin + m.rows()) of a global_rows-row
/// matrix and the same rows of U; s (or d) and V are replicated. The recipes sum and take maxima over the
/// processes through `processes`, and record their loss with RowBlocks over it.
struct Partition {
  Index global_rows = 0;                   ///< the rows of M over all processes
  Index row_begin = 0;                     ///< the first of this process's rows
  const Collectives* processes = nullptr;  ///< the processes that hold the other rows (required)

  /// Exactly one process (rank 0) is the root.
  bool root() const { return processes->rank() == 0; }
  /// In-place sums over the processes.
  void sum(double* values, Index count) const { processes->sum(values, count); }
  /// The same in float.
  void sum(float* values, Index count) const { processes->sum(values, count); }
  /// In-place maxima over the processes.
  void max(double* values, Index count) const { processes->max(values, count); }
  /// How the loss is split over the processes.
  template <class T>
  RowBlocks<T> row_blocks() const {
    return {global_rows, processes};
  }
};

/// Rows [begin, begin + count) of an m-row matrix for process `rank` of `size`: contiguous blocks, the
/// first m mod size processes get one row more.
struct RowBlock {
  Index begin = 0;  ///< the first row
  Index count = 0;  ///< the number of rows
};
/// The block of `rows` rows that process `rank` of `size` holds (std::invalid_argument on a bad rank).
RowBlock row_block(Index rows, int rank, int size);

/// Checks the options against a rows×cols matrix, as solve() does (the values are checked separately):
/// throws SvdOptionError.
void validate_options(Index rows, Index cols, const SvdOptions& options);

/// Runs the recipe options.recipe names, in T, on this process's rows `m` of the partitioned matrix (options
/// checked with validate_options first). Returns U (this process's rows), singular values, V, loss history
/// and status; not the errors (reconstruction_error, orthogonality_error), which need every process's rows.
/// std::invalid_argument if part.processes is null.
template <class T>
SvdResult solve_partitioned(const Matrix<double>& m, const SvdOptions& options, const Partition& part);

}  // namespace tapegrad::svd
