// The two recipes behind tapegrad::svd::solve (private to the svd library).
#pragma once

#include <memory>
#include <vector>

#include "tapegrad/optim.hpp"
#include "tapegrad/svd/solver.hpp"

namespace tapegrad::svd::detail {

/// Runs the seed recipe on m (validated by solve()); fills U, singular_values, V, loss history and status.
template <class T>
SvdResult run_seed(const Matrix<double>& m, const SvdOptions& options);

/// Runs the auto recipe on m.
template <class T>
SvdResult run_auto(const Matrix<double>& m, const SvdOptions& options);

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
