// L-BFGS with a backtracking (Armijo) line search and an optional diagonal preconditioner.
//
// Like torch.optim.LBFGS it needs a closure that re-evaluates the loss and the gradients, because the
// line search tries several points per step. Unlike it, the caller hands step() the loss at the current
// point (gradients already in Parameter::grad), so an accepted trial point's evaluation is reused as the
// next step's start: one evaluation per iteration when the first trial is accepted.
//
// Direction: the two-loop recursion (Nocedal & Wright, Numerical Optimization, 2nd ed., Algorithm 7.4)
// with initial inverse Hessian H0 = γ D, where D is the preconditioner's diagonal (1 without one) and
// γ = sᵀy / (yᵀ D y) from the newest pair (Eq. 7.20 generalised to D); before any pair,
// γ = min(1, 1/‖D g‖). Line search: t = lr, halved until f(x + t d) <= f + c1 t gᵀd + 16 ε |f|
// (the last term forgives rounding near the optimum). A pair (s, y) is kept only when sᵀy > 1e-10 ‖s‖‖y‖.
#pragma once

#include <array>
#include <functional>
#include <limits>
#include <vector>

#include "tapegrad/optim/optimizer.hpp"

namespace tapegrad::optim {

/// L-BFGS's options.
struct LbfgsOptions {
  double lr = 1;            ///< first trial step length of every line search
  long history_size = 50;   ///< number of (s, y) pairs kept
  double c1 = 1e-4;         ///< Armijo sufficient-decrease constant
  int max_backtracks = 60;  ///< halvings before the line search gives up
};

/// Throws std::invalid_argument for lr <= 0, history_size < 1, c1 outside (0, 1), max_backtracks < 1.
void validate(const LbfgsOptions& o);

/// L-BFGS with a backtracking Armijo line search (see the file comment); recommended for smooth, full-batch
/// problems (docs/choosing-an-optimizer.md). Either call step(closure, loss) with the loss at the current
/// point, or give it the closure once (set_closure) and call step() like any other optimizer.
template <class T>
class Lbfgs : public Optimizer<T> {
 public:
  /// Re-evaluates at the parameters' current values: zeroes and recomputes every gradient, returns the loss.
  using Closure = std::function<T()>;
  /// Fills d (one matrix per parameter, each of its shape, preset to 1) with a positive diagonal
  /// scaling of the gradient, from the parameters' current values.
  using Preconditioner = std::function<void(std::vector<Matrix<T>>& d)>;

  /// Sums `count` values over all processes, in place (data-parallel runs; see set_reduce).
  using Reduce = std::function<void(T* values, int count)>;

  /// One group of parameters with these options (validated: std::invalid_argument).
  Lbfgs(std::vector<Parameter<T>*> params, LbfgsOptions o = {});
  /// Scales the initial inverse Hessian by the preconditioner's diagonal (none by default).
  void set_preconditioner(Preconditioner p) { precondition_ = std::move(p); }
  /// Data-parallel runs (tapegrad::mpi): the parameters are one process's share of the problem,
  /// and every dot product and norm of a step becomes a sum over processes. Each process computes its
  /// partial sums, weighted per parameter by `weights` (default all 1), and `sum` adds them up over the
  /// processes (one call per dependent group: 2 per stored pair and 3 more per step). A parameter split
  /// across processes (each holds a block of rows) has weight 1; one every process holds whole (replicated,
  /// its gradient already summed) has weight 1 on exactly one process and 0 on the others. The closure's loss
  /// must be the global one. Without a reduce (the default) the arithmetic is unchanged, bit for bit.
  void set_reduce(Reduce sum, std::vector<T> weights = {});

  /// One iteration from the current point, whose loss is `loss` and whose gradients are in the
  /// parameters' grad. Leaves the parameters at the accepted point with their gradients there and
  /// returns its loss. When the line search fails, the parameters stay where they were, the gradients
  /// are re-evaluated there, and line_search_failed() is true.
  T step(const Closure& closure, T loss);
  /// The closure step() uses (the same contract as step(closure, loss)'s).
  void set_closure(Closure closure) { closure_ = std::move(closure); }
  /// One iteration with the closure given to set_closure: step(closure, loss), the loss and gradients at the
  /// current point being re-evaluated only when the parameters or their gradients are not where the last
  /// step left them (first step, reset_state, load_state, or a change by the caller such as zero_grad()).
  /// Without a closure: std::logic_error.
  void step() override;
  /// The loss at the point the last step left the parameters (NaN before the first step).
  T loss() const { return loss_; }
  /// Whether the last step's line search found no decrease.
  bool line_search_failed() const { return failed_; }
  /// Evaluations of the closure so far.
  long evaluations() const { return evaluations_; }

  void reset_state() override;
  const char* name() const override { return "lbfgs"; }
  /// The options, with the current lr.
  LbfgsOptions options() const;

 private:
  using Vec = Eigen::Matrix<T, Eigen::Dynamic, 1>;
  void gather_grads(Vec& g) const;
  bool at_known_point() const;                  // the parameters are where the last step left them
  T step_from(const Closure& closure, T loss);  // step(closure, loss)'s iteration
  // The sums over all entries (and, with a reduce, over all processes) of f(begin, length) over the
  // parameters' segments; one reduce call for all of them.
  template <class... F>
  std::array<T, sizeof...(F)> totals(const F&... f) const;
  void save_body(detail::StateWriter& w) const override;
  std::function<void()> load_body(detail::StateReader& r) override;

  LbfgsOptions options_;
  Preconditioner precondition_;
  Reduce reduce_;
  std::vector<T> weights_;
  Index n_ = 0;  // total number of entries
  long mem_ = 0, len_ = 0, head_ = 0;
  Matrix<T> s_, y_;  // n_ × mem_: the pairs, a ring buffer
  Vec rho_, alpha_, x0_, x_, g_, gnew_, d_, q_, diag_;
  std::vector<Matrix<T>> diag_parts_;
  bool failed_ = false;
  long evaluations_ = 0;
  Closure closure_;
  Vec at_, grad_at_;  // where the last step left the parameters, and their gradients there (loss_)
  bool known_ = false;
  T loss_ = std::numeric_limits<T>::quiet_NaN();
};

/// \cond
extern template class Lbfgs<float>;
extern template class Lbfgs<double>;
/// \endcond

}  // namespace tapegrad::optim
