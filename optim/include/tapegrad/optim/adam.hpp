// Adam (coupled L2 weight decay) and AdamW (decoupled weight decay), as torch.optim.Adam and
// torch.optim.AdamW (PyTorch 1.13, single-tensor code path), with amsgrad and maximize.
// See docs/optimizers.md.
#pragma once

#include <cstdint>
#include <vector>

#include "tapegrad/optim/optimizer.hpp"

namespace tapegrad::optim {

/// torch.optim.Adam's options, with its defaults.
struct AdamOptions {
  double lr = 1e-3;         ///< learning rate
  double beta1 = 0.9;       ///< decay of the first-moment estimate
  double beta2 = 0.999;     ///< decay of the second-moment estimate
  double eps = 1e-8;        ///< added to the denominator's square root
  double weight_decay = 0;  ///< L2 penalty λ added to the gradient: g ← g + λ θ
  bool amsgrad = false;     ///< use the running maximum of the second moment
  bool maximize = false;    ///< ascend instead of descend
};

/// torch.optim.AdamW's options, with its defaults.
struct AdamWOptions {
  double lr = 1e-3;            ///< learning rate
  double beta1 = 0.9;          ///< decay of the first-moment estimate
  double beta2 = 0.999;        ///< decay of the second-moment estimate
  double eps = 1e-8;           ///< added to the denominator's square root
  double weight_decay = 1e-2;  ///< decoupled weight decay λ: θ ← θ (1 − lr λ) before the step
  bool amsgrad = false;        ///< use the running maximum of the second moment
  bool maximize = false;       ///< ascend instead of descend
};

/// Throw std::invalid_argument as PyTorch's constructors do: negative lr, eps or weight_decay;
/// a beta outside [0, 1).
void validate(const AdamOptions& o);
/// The same for AdamW's options.
void validate(const AdamWOptions& o);

namespace detail {
/// What Adam and AdamW share: the moments, the step count and the update. `decoupled` selects
/// AdamW's weight decay (θ ← θ(1 − lr·λ) before the step) over Adam's (g ← g + λθ).
template <class T>
class AdamBase : public OptionsPerGroup<T, AdamOptions> {
 public:
  void step() override;
  void reset_state() override;
  /// The number of steps taken by a parameter (PyTorch's state["step"]); 0 before the first.
  std::int64_t step_count(std::size_t param_index = 0) const;

 protected:
  explicit AdamBase(bool decoupled) : decoupled_(decoupled) {}
  void add(std::vector<Parameter<T>*> params, const AdamOptions& o);

 private:
  struct State {
    std::int64_t step = 0;
    Matrix<T> exp_avg, exp_avg_sq, max_exp_avg_sq;  // max_exp_avg_sq only with amsgrad
  };
  void save_body(StateWriter& w) const override;
  std::function<void()> load_body(StateReader& r) override;

  bool decoupled_;
  std::vector<State> state_;
};
/// \cond
extern template class AdamBase<float>;
extern template class AdamBase<double>;
/// \endcond
}  // namespace detail

/// Adam with coupled L2 weight decay, as torch.optim.Adam (PyTorch 1.13); docs/optimizers.md.
template <class T>
class Adam : public detail::AdamBase<T> {
 public:
  /// One group of parameters with these options (validated: std::invalid_argument).
  Adam(std::vector<Parameter<T>*> params, AdamOptions o = {});
  /// A new group with its own options (PyTorch's add_param_group).
  void add_param_group(std::vector<Parameter<T>*> params, AdamOptions o);
  const char* name() const override { return "adam"; }
  /// The options of a group, with its current lr.
  AdamOptions options(std::size_t group = 0) const { return this->group_options(group); }
};

/// Adam with decoupled weight decay, as torch.optim.AdamW (PyTorch 1.13); docs/optimizers.md.
template <class T>
class AdamW : public detail::AdamBase<T> {
 public:
  /// One group of parameters with these options (validated: std::invalid_argument).
  AdamW(std::vector<Parameter<T>*> params, AdamWOptions o = {});
  /// A new group with its own options (PyTorch's add_param_group).
  void add_param_group(std::vector<Parameter<T>*> params, AdamWOptions o);
  const char* name() const override { return "adamw"; }
  /// The options of a group, with its current lr.
  AdamWOptions options(std::size_t group = 0) const;
};

/// \cond
extern template class Adam<float>;
extern template class Adam<double>;
extern template class AdamW<float>;
extern template class AdamW<double>;
/// \endcond

}  // namespace tapegrad::optim
