// Adam (coupled L2 weight decay) and AdamW (decoupled weight decay), as torch.optim.Adam and
// torch.optim.AdamW (PyTorch 1.13, single-tensor code path), with amsgrad and maximize.
// See docs/optimizers.md.
#pragma once

#include <cstdint>
#include <vector>

#include "tapegrad/optim/optimizer.hpp"

namespace tapegrad::optim {

struct AdamOptions {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0;
  bool amsgrad = false, maximize = false;
};

struct AdamWOptions {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 1e-2;
  bool amsgrad = false, maximize = false;
};

/// Throw std::invalid_argument as PyTorch's constructors do: negative lr, eps or weight_decay;
/// a beta outside [0, 1).
void validate(const AdamOptions& o);
void validate(const AdamWOptions& o);

namespace detail {
/// What Adam and AdamW share: the moments, the step count and the update. `decoupled` selects
/// AdamW's weight decay (θ ← θ(1 − lr·λ) before the step) over Adam's (g ← g + λθ).
template <class T>
class AdamBase : public Optimizer<T> {
 public:
  void step() override;
  void reset_state() override;
  /// The number of steps taken by a parameter (PyTorch's state["step"]); 0 before the first.
  std::int64_t step_count(std::size_t param_index = 0) const;

 protected:
  explicit AdamBase(bool decoupled) : decoupled_(decoupled) {}
  void add(std::vector<Parameter<T>*> params, const AdamOptions& o);
  AdamOptions group_options(std::size_t group) const;

 private:
  struct State {
    std::int64_t step = 0;
    Matrix<T> exp_avg, exp_avg_sq, max_exp_avg_sq;  // max_exp_avg_sq only with amsgrad
  };
  void save_body(StateWriter& w) const override;
  std::function<void()> load_body(StateReader& r) override;

  bool decoupled_;
  std::vector<AdamOptions> options_;  // lr lives in the group
  std::vector<State> state_;
};
extern template class AdamBase<float>;
extern template class AdamBase<double>;
}  // namespace detail

template <class T>
class Adam : public detail::AdamBase<T> {
 public:
  Adam(std::vector<Parameter<T>*> params, AdamOptions o = {});
  void add_param_group(std::vector<Parameter<T>*> params, AdamOptions o);
  const char* name() const override { return "adam"; }
  AdamOptions options(std::size_t group = 0) const { return this->group_options(group); }
};

template <class T>
class AdamW : public detail::AdamBase<T> {
 public:
  AdamW(std::vector<Parameter<T>*> params, AdamWOptions o = {});
  void add_param_group(std::vector<Parameter<T>*> params, AdamWOptions o);
  const char* name() const override { return "adamw"; }
  AdamWOptions options(std::size_t group = 0) const;
};

extern template class Adam<float>;
extern template class Adam<double>;
extern template class AdamW<float>;
extern template class AdamW<double>;

}  // namespace tapegrad::optim
