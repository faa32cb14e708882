// Stochastic gradient descent with momentum, dampening, Nesterov momentum, weight decay and
// maximize, as torch.optim.SGD (PyTorch 1.13, single-tensor code path). See docs/optimizers.md.
#pragma once

#include <vector>

#include "tapegrad/optim/optimizer.hpp"

namespace tapegrad::optim {

struct SgdOptions {
  double lr = 0.01;
  double momentum = 0, dampening = 0, weight_decay = 0;
  bool nesterov = false, maximize = false;
};

/// Throws std::invalid_argument as torch.optim.SGD's constructor does: negative lr, momentum or
/// weight_decay; nesterov without momentum > 0 and dampening == 0.
void validate(const SgdOptions& o);

template <class T>
class Sgd : public Optimizer<T> {
 public:
  Sgd(std::vector<Parameter<T>*> params, SgdOptions o = {});
  /// A new group with its own options (PyTorch's add_param_group).
  void add_param_group(std::vector<Parameter<T>*> params, SgdOptions o);
  void step() override;
  void reset_state() override;
  const char* name() const override { return "sgd"; }
  /// The options of a group, with its current lr.
  SgdOptions options(std::size_t group = 0) const;

 private:
  struct State {
    Matrix<T> momentum_buffer;
    bool has_buffer = false;  // PyTorch's "momentum_buffer is None" on the first step
  };
  void save_body(detail::StateWriter& w) const override;
  std::function<void()> load_body(detail::StateReader& r) override;

  std::vector<SgdOptions> options_;
  std::vector<State> state_;
};

extern template class Sgd<float>;
extern template class Sgd<double>;

}  // namespace tapegrad::optim
