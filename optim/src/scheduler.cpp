// Learning-rate schedules, PyTorch 1.13 torch/optim/lr_scheduler.py, recursive get_lr() forms.
//
// Construction (last_epoch = -1) records initial_lr = group['lr'] as base_lr and takes one step to
// epoch 0, where all three schedules return the group's lr unchanged. Each later step() increments
// last_epoch and sets group['lr'] = get_lr():
//   StepLR:        lr if last_epoch == 0 or last_epoch % step_size != 0, else lr * gamma
//   ExponentialLR: lr if last_epoch == 0, else lr * gamma
//   CosineAnnealingLR (T = T_max, e = last_epoch):
//     e == 0:                          lr
//     (e - 1 - T) % (2 T) == 0:        lr + (base_lr - eta_min) * (1 - cos(pi / T)) / 2
//     otherwise:                       (1 + cos(pi * e / T)) / (1 + cos(pi * (e - 1) / T)) * (lr - eta_min) +
//     eta_min
// The expressions below keep Python's left-to-right evaluation order, so the values are bit-identical.
#include "tapegrad/optim/scheduler.hpp"

#include <cmath>
#include <numbers>
#include <stdexcept>
#include <string>

namespace tapegrad::optim {

template <class T>
LRScheduler<T>::LRScheduler(Optimizer<T>& opt) : opt_(opt) {
  for (std::size_t g = 0; g < opt.num_groups(); ++g) base_lrs_.push_back(opt.lr(g));
}

template <class T>
LRScheduler<T>::~LRScheduler() = default;

template <class T>
void LRScheduler<T>::step() {
  ++last_epoch_;
  for (std::size_t g = 0; g < base_lrs_.size() && g < opt_.num_groups(); ++g)
    opt_.set_lr(g, next_lr(g, opt_.lr(g)));
}

template <class T>
std::vector<double> LRScheduler<T>::last_lr() const {
  std::vector<double> lrs;
  for (std::size_t g = 0; g < opt_.num_groups(); ++g) lrs.push_back(opt_.lr(g));
  return lrs;
}

template <class T>
StepLR<T>::StepLR(Optimizer<T>& opt, long step_size, double gamma)
    : LRScheduler<T>(opt), step_size_(step_size), gamma_(gamma) {
  if (step_size <= 0)
    throw std::invalid_argument("StepLR: step_size must be positive, got " + std::to_string(step_size));
  if (!(gamma >= 0)) throw std::invalid_argument("StepLR: gamma must be >= 0, got " + std::to_string(gamma));
}

template <class T>
double StepLR<T>::next_lr(std::size_t, double current) const {
  if (this->last_epoch_ == 0 || this->last_epoch_ % step_size_ != 0) return current;
  return current * gamma_;
}

template <class T>
ExponentialLR<T>::ExponentialLR(Optimizer<T>& opt, double gamma) : LRScheduler<T>(opt), gamma_(gamma) {
  if (!(gamma >= 0))
    throw std::invalid_argument("ExponentialLR: gamma must be >= 0, got " + std::to_string(gamma));
}

template <class T>
double ExponentialLR<T>::next_lr(std::size_t, double current) const {
  if (this->last_epoch_ == 0) return current;
  return current * gamma_;
}

template <class T>
CosineAnnealingLR<T>::CosineAnnealingLR(Optimizer<T>& opt, long T_max, double eta_min)
    : LRScheduler<T>(opt), t_max_(T_max), eta_min_(eta_min) {
  if (T_max <= 0)
    throw std::invalid_argument("CosineAnnealingLR: T_max must be positive, got " + std::to_string(T_max));
  if (!(eta_min >= 0))
    throw std::invalid_argument("CosineAnnealingLR: eta_min must be >= 0, got " + std::to_string(eta_min));
}

template <class T>
double CosineAnnealingLR<T>::next_lr(std::size_t group, double current) const {
  constexpr double pi = std::numbers::pi;  // math.pi
  const long e = this->last_epoch_;
  const double tm = static_cast<double>(t_max_);
  if (e == 0) return current;
  // Python's % and C++'s % agree on whether the remainder is zero, whatever the sign.
  if ((e - 1 - t_max_) % (2 * t_max_) == 0)
    return current + (this->base_lrs_[group] - eta_min_) * (1 - std::cos(pi / tm)) / 2;
  return (1 + std::cos(pi * static_cast<double>(e) / tm)) /
             (1 + std::cos(pi * static_cast<double>(e - 1) / tm)) * (current - eta_min_) +
         eta_min_;
}

template class LRScheduler<float>;
template class LRScheduler<double>;
template class StepLR<float>;
template class StepLR<double>;
template class ExponentialLR<float>;
template class ExponentialLR<double>;
template class CosineAnnealingLR<float>;
template class CosineAnnealingLR<double>;

}  // namespace tapegrad::optim
