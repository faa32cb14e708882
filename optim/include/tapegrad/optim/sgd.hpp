// Stochastic gradient descent with momentum, dampening, Nesterov momentum, weight decay and
// maximize, as torch.optim.SGD (PyTorch 1.13, single-tensor code path). See docs/optimizers.md.
#pragma once

#include <vector>

#include "tapegrad/optim/optimizer.hpp"

namespace tapegrad::optim {

/// torch.optim.SGD's options, with its defaults.
struct SgdOptions {
  double lr = 0.01;         ///< learning rate
  double momentum = 0;      ///< momentum factor μ (0: plain SGD)
  double dampening = 0;     ///< dampening τ of the momentum buffer: b ← μ b + (1 − τ) g
  double weight_decay = 0;  ///< L2 penalty λ: g ← g + λ θ
  bool nesterov = false;    ///< Nesterov momentum (needs momentum > 0 and dampening 0)
  bool maximize = false;    ///< ascend instead of descend
};

/// Throws std::invalid_argument as torch.optim.SGD's constructor does: negative lr, momentum or
/// weight_decay; nesterov without momentum > 0 and dampening == 0.
void validate(const SgdOptions& o);

/// Stochastic gradient descent with momentum, as torch.optim.SGD (PyTorch 1.13); docs/optimizers.md.
template <class T>
class Sgd : public detail::OptionsPerGroup<T, SgdOptions> {
 public:
  /// One group of parameters with these options (validated: std::invalid_argument).
  Sgd(std::vector<Parameter<T>*> params, SgdOptions o = {});
  /// A new group with its own options (PyTorch's add_param_group).
  void add_param_group(std::vector<Parameter<T>*> params, SgdOptions o);
  void step() override;
  void reset_state() override;
  const char* name() const override { return "sgd"; }
  /// The options of a group, with its current lr.
  SgdOptions options(std::size_t group = 0) const { return this->group_options(group); }

 private:
  struct State {
    Matrix<T> momentum_buffer;
    bool has_buffer = false;  // PyTorch's "momentum_buffer is None" on the first step
  };
  void save_body(detail::StateWriter& w) const override;
  std::function<void()> load_body(detail::StateReader& r) override;

  std::vector<State> state_;
};

/// \cond
extern template class Sgd<float>;
extern template class Sgd<double>;
/// \endcond

}  // namespace tapegrad::optim
