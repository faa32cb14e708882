// Learning-rate schedules with PyTorch 1.13's formulas (torch.optim.lr_scheduler). A scheduler takes
// the optimizer's current lrs as its base lrs (PyTorch's initial_lr) and, like PyTorch's, is meant to
// be stepped once per epoch after optimizer.step(). Each step() updates every group's lr in place
// with PyTorch's recursive ("chainable") form, so the lr values agree with PyTorch's to the last bit.
#pragma once

#include <vector>

#include "tapegrad/optim/optimizer.hpp"

namespace tapegrad::optim {

/// Base class of the learning-rate schedules (torch.optim.lr_scheduler): call step() once per epoch, after
/// the optimizer's step(). Construction records each group's lr as its base lr.
template <class T>
class LRScheduler {
 public:
  virtual ~LRScheduler();
  LRScheduler(const LRScheduler&) = delete;
  LRScheduler& operator=(const LRScheduler&) = delete;

  /// Advances the epoch counter and sets every group's lr.
  void step();
  /// PyTorch's last_epoch: 0 after construction, +1 per step().
  long last_epoch() const { return last_epoch_; }
  /// The groups' lrs when the scheduler was made (PyTorch's base_lrs).
  const std::vector<double>& base_lrs() const { return base_lrs_; }
  /// The lrs of the groups now (PyTorch's get_last_lr()).
  std::vector<double> last_lr() const;

 protected:
  /// Schedules `opt`'s groups, which must outlive the scheduler.
  explicit LRScheduler(Optimizer<T>& opt);
  /// The lr of `group` for epoch last_epoch_ (already advanced), from its current lr.
  virtual double next_lr(std::size_t group, double current) const = 0;

  Optimizer<T>& opt_;             ///< the scheduled optimizer
  std::vector<double> base_lrs_;  ///< each group's lr at construction
  long last_epoch_ = 0;           ///< steps taken
};

/// lr ← lr·γ every step_size epochs (torch.optim.lr_scheduler.StepLR).
template <class T>
class StepLR : public LRScheduler<T> {
 public:
  /// Multiplies every group's lr by `gamma` every `step_size` epochs.
  StepLR(Optimizer<T>& opt, long step_size, double gamma = 0.1);

 private:
  double next_lr(std::size_t group, double current) const override;
  long step_size_;
  double gamma_;
};

/// lr ← lr·γ every epoch (torch.optim.lr_scheduler.ExponentialLR).
template <class T>
class ExponentialLR : public LRScheduler<T> {
 public:
  /// Multiplies every group's lr by `gamma` every epoch.
  ExponentialLR(Optimizer<T>& opt, double gamma);

 private:
  double next_lr(std::size_t group, double current) const override;
  double gamma_;
};

/// Cosine annealing from the base lr to eta_min over T_max epochs, then back up (SGDR without restarts),
/// as torch.optim.lr_scheduler.CosineAnnealingLR's recursive form.
template <class T>
class CosineAnnealingLR : public LRScheduler<T> {
 public:
  /// Anneals every group's lr from its base lr to `eta_min` over `T_max` epochs.
  CosineAnnealingLR(Optimizer<T>& opt, long T_max, double eta_min = 0);

 private:
  double next_lr(std::size_t group, double current) const override;
  long t_max_;
  double eta_min_;
};

/// \cond
extern template class LRScheduler<float>;
extern template class LRScheduler<double>;
extern template class StepLR<float>;
extern template class StepLR<double>;
extern template class ExponentialLR<float>;
extern template class ExponentialLR<double>;
extern template class CosineAnnealingLR<float>;
extern template class CosineAnnealingLR<double>;
/// \endcond

}  // namespace tapegrad::optim
