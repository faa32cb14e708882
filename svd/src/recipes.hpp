// The two recipes behind tapegrad::svd::solve (private to the svd library).
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "tapegrad/optim.hpp"
#include "tapegrad/svd/solver.hpp"

namespace tapegrad::svd::detail {

/// A row-partitioned run (issue 8): this process holds rows [row_begin, row_begin + m.rows()) of a
/// global_rows-row matrix and the same rows of U; s (or d) and V are replicated. The recipes stay free of
/// MPI: they call these hooks, which tapegrad::mpi (svd/src/distributed.cpp) fills. Every hook is collective.
template <class T>
struct Partition {
  Index global_rows = 0;
  Index row_begin = 0;
  bool root = true;                                  ///< exactly one process (rank 0) has it
  std::function<void(double*, Index)> sum_d, max_d;  ///< in place, over processes
  std::function<void(T*, Index)> sum;                ///< in place, over processes
  /// The recipe's loss on this process's rows, with allreduce_sum / replicated in the right places.
  std::function<Var<T>(Tape<T>&, Parameter<T>&, Parameter<T>&, Parameter<T>&, const Matrix<T>&, T)> loss;
};

/// Runs the seed recipe on m (validated by solve()); fills U, singular_values, V, loss history and status.
/// With a partition, m holds this process's rows and so does the result's U.
template <class T>
SvdResult run_seed(const Matrix<double>& m, const SvdOptions& options, const Partition<T>* part = nullptr);

/// Runs the auto recipe on m (with a partition: this process's rows, see run_seed).
template <class T>
SvdResult run_auto(const Matrix<double>& m, const SvdOptions& options, const Partition<T>* part = nullptr);

/// Checks the options against an rows×cols matrix (the values are checked separately): throws SvdOptionError.
void validate(Index rows, Index cols, const SvdOptions& options);

/// The optimizer the options ask for, over `params`, with `defaults` filling what the options leave unset.
template <class T>
std::unique_ptr<optim::Optimizer<T>> make_optimizer(OptimizerKind kind, const SvdOptions& o,
                                                    std::vector<Parameter<T>*> params, double default_lr,
                                                    double default_momentum, double default_weight_decay);

/// Divergence test shared by the recipes: a non-finite loss, or one grown far above its best.
inline bool diverging(double loss, double best, double first) {
  return !std::isfinite(loss) || (loss > 1e6 * best && loss > 1e3 * first);
}

}  // namespace tapegrad::svd::detail
