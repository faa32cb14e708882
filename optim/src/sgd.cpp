// SGD as torch.optim.SGD in PyTorch 1.13, function _single_tensor_sgd (torch/optim/sgd.py, foreach=False):
//
//   d_p = d_p_list[i] if not maximize else -d_p_list[i]
//   if weight_decay != 0: d_p = d_p.add(param, alpha=weight_decay)
//   if momentum != 0:
//       buf = momentum_buffer_list[i]
//       if buf is None: buf = torch.clone(d_p).detach()          # first step: no dampening
//       else:           buf.mul_(momentum).add_(d_p, alpha=1 - dampening)
//       d_p = d_p.add(buf, alpha=momentum) if nesterov else buf
//   param.add_(d_p, alpha=-lr)
//
// Each PyTorch kernel rounds its result to the tensor's dtype, and the Python scalars (momentum,
// 1 - dampening, -lr, weight_decay) are converted to it first; the loop below does the same
// operations per entry in the same order, in T, so a float32 run rounds as PyTorch's does. It is
// compiled with -ffp-contract=off so that no multiply-add is fused behind our back.
#include "tapegrad/optim/sgd.hpp"

#include <string>
#include <type_traits>

#include "serialize.hpp"

namespace tapegrad::optim {
namespace {

/// Calls f(std::bool_constant<b>{}): a run-time flag made a compile-time one.
template <class F>
void with_flag(bool b, F&& f) {
  if (b)
    f(std::true_type{});
  else
    f(std::false_type{});
}

/// The step of one parameter's entries. Each option is a template parameter, so that the loop has no
/// branch and vectorises (no reordering: every entry's operations are the ones listed above, in order).
template <bool Maximize, bool WeightDecay, bool Momentum, bool First, bool Nesterov, class T>
void sgd_update(Index n, T* theta, const T* grad, T* buf, T wd, T mom, T one_minus_damp, T neg_lr) {
  for (Index k = 0; k < n; ++k) {
    T d = Maximize ? -grad[k] : grad[k];               // d_p = -grad if maximize
    if constexpr (WeightDecay) d = d + wd * theta[k];  // d_p.add(param, alpha=weight_decay)
    if constexpr (Momentum) {
      if constexpr (First) {
        buf[k] = d;  // buf = clone(d_p)
      } else {
        const T b = buf[k] * mom;         // buf.mul_(momentum)
        buf[k] = b + one_minus_damp * d;  // .add_(d_p, alpha=1 - dampening)
      }
      d = Nesterov ? d + mom * buf[k] : buf[k];  // d_p.add(buf, alpha=momentum) or buf
    }
    theta[k] = theta[k] + neg_lr * d;  // param.add_(d_p, alpha=-lr)
  }
}

}  // namespace
}  // namespace tapegrad::optim

namespace tapegrad::optim {

void validate(const SgdOptions& o) {
  check_lr(o.lr);
  if (!(o.momentum >= 0.0))
    throw std::invalid_argument("Invalid momentum value: " + std::to_string(o.momentum));
  if (!(o.weight_decay >= 0.0))
    throw std::invalid_argument("Invalid weight_decay value: " + std::to_string(o.weight_decay));
  if (o.nesterov && (o.momentum <= 0 || o.dampening != 0))
    throw std::invalid_argument("Nesterov momentum requires a momentum and zero dampening");
}

template <class T>
Sgd<T>::Sgd(std::vector<Parameter<T>*> params, SgdOptions o) {
  add_param_group(std::move(params), o);
}

template <class T>
void Sgd<T>::add_param_group(std::vector<Parameter<T>*> params, SgdOptions o) {
  this->add_with_options(std::move(params), o);
  state_.resize(this->num_params_);
}

template <class T>
void Sgd<T>::reset_state() {
  for (auto& s : state_) s.has_buffer = false;  // keeps the buffer's memory for the next first step
}

template <class T>
void Sgd<T>::step() {
  for (std::size_t gi = 0; gi < this->groups_.size(); ++gi) {
    const auto& g = this->groups_[gi];
    const SgdOptions& o = this->options_[gi];
    const T wd = T(o.weight_decay), mom = T(o.momentum), one_minus_damp = T(1 - o.dampening),
            neg_lr = T(-g.lr);
    const bool use_wd = o.weight_decay != 0, use_mom = o.momentum != 0;
    for (std::size_t i = 0; i < g.params.size(); ++i) {
      Parameter<T>& p = *g.params[i];
      this->check_grad(p, gi, i);
      State& s = state_[g.first + i];
      const Index n = p.value.size();
      T* theta = p.value.data();
      const T* grad = p.grad.data();
      bool first = false;
      if (use_mom && !s.has_buffer) {
        // State is created on the first step (as PyTorch's buf = None); reused after reset_state().
        if (s.momentum_buffer.rows() != p.value.rows() || s.momentum_buffer.cols() != p.value.cols())
          s.momentum_buffer.resize(p.value.rows(), p.value.cols());
        s.has_buffer = true;
        first = true;
      } else if (use_mom && s.momentum_buffer.size() != n) {
        throw std::invalid_argument("tapegrad: sgd.step: parameter " + std::to_string(i) + " of group " +
                                    std::to_string(gi) + " changed shape since its momentum buffer was made");
      }
      T* buf = use_mom ? s.momentum_buffer.data() : nullptr;
      with_flag(o.maximize, [&](auto maximize) {
        with_flag(use_wd, [&](auto weight_decay) {
          with_flag(use_mom, [&](auto momentum) {
            with_flag(first, [&](auto first_step) {
              with_flag(o.nesterov, [&](auto nesterov) {
                sgd_update<maximize, weight_decay, momentum, first_step, nesterov>(
                    n, theta, grad, buf, wd, mom, one_minus_damp, neg_lr);
              });
            });
          });
        });
      });
    }
  }
}

namespace {
// The saved option fields, in order (serialize.hpp's WriteField / ReadField); O is SgdOptions, const or not.
template <class O, class F>
void saved_fields(O& o, F f) {
  TAPEGRAD_SAVED_FIELDS(o, f, momentum, dampening, weight_decay, nesterov, maximize)
}
}  // namespace

template <class T>
void Sgd<T>::save_body(detail::StateWriter& w) const {
  for (const auto& o : this->options_) saved_fields(o, detail::WriteField{w});
  for (const auto& s : state_) {
    w.flag(s.has_buffer);
    if (s.has_buffer) w.matrix(s.momentum_buffer);
  }
}

template <class T>
std::function<void()> Sgd<T>::load_body(detail::StateReader& r) {
  auto opts = detail::read_options<SgdOptions>(r, this->options_.size(),
                                               [](auto& o, auto field) { saved_fields(o, field); });
  std::vector<State> st(state_.size());
  const auto params = this->parameters();
  for (std::size_t k = 0; k < st.size(); ++k) {
    st[k].has_buffer = r.flag("momentum buffer flag");
    if (st[k].has_buffer)
      st[k].momentum_buffer =
          r.matrix<T>("momentum buffer", params[k]->value.rows(), params[k]->value.cols());
  }
  return [this, opts = std::move(opts), st = std::move(st)]() mutable {
    this->replace_options(std::move(opts));
    state_ = std::move(st);
  };
}

template class Sgd<float>;
template class Sgd<double>;

}  // namespace tapegrad::optim
