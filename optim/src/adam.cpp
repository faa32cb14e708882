// Adam and AdamW as torch.optim.Adam / torch.optim.AdamW in PyTorch 1.13, functions _single_tensor_adam
// and _single_tensor_adamw (torch/optim/adam.py, adamw.py, foreach=False, capturable=False):
//
//   grad = grads[i] if not maximize else -grads[i]
//   step_t += 1                                              # incremented before use
//   AdamW: param.mul_(1 - lr * weight_decay)                 # decoupled decay, first
//   Adam:  if weight_decay != 0: grad = grad.add(param, alpha=weight_decay)   # coupled L2
//   exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
//   exp_avg_sq.mul_(beta2).addcmul_(grad, grad.conj(), value=1 - beta2)
//   step = step_t.item()
//   bias_correction1 = 1 - beta1 ** step
//   bias_correction2 = 1 - beta2 ** step
//   step_size = lr / bias_correction1
//   bias_correction2_sqrt = math.sqrt(bias_correction2)
//   if amsgrad: torch.maximum(max_exp_avg_sqs[i], exp_avg_sq, out=max_exp_avg_sqs[i])   # max of raw v
//               denom = (max_exp_avg_sqs[i].sqrt() / bias_correction2_sqrt).add_(eps)
//   else:       denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)
//   param.addcdiv_(exp_avg, denom, value=-step_size)       # param + (-step_size * exp_avg) / denom
//
// The scalars (bias corrections, step size, 1 - lr·λ) are computed in double as Python does, then
// converted to T as PyTorch converts a Python scalar operand to the tensor's dtype; every elementwise
// operation is done in T in the kernels' order (addcmul: self + (value·t1)·t2; addcdiv:
// self + (value·t1)/t2). Compiled with -ffp-contract=off (no fused multiply-adds).
#include "tapegrad/optim/adam.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "serialize.hpp"

namespace tapegrad::optim {

void validate(const AdamOptions& o) {
  check_lr(o.lr);
  if (!(o.eps >= 0.0)) throw std::invalid_argument("Invalid epsilon value: " + std::to_string(o.eps));
  if (!(o.beta1 >= 0.0 && o.beta1 < 1.0))
    throw std::invalid_argument("Invalid beta parameter at index 0: " + std::to_string(o.beta1));
  if (!(o.beta2 >= 0.0 && o.beta2 < 1.0))
    throw std::invalid_argument("Invalid beta parameter at index 1: " + std::to_string(o.beta2));
  if (!(o.weight_decay >= 0.0))
    throw std::invalid_argument("Invalid weight_decay value: " + std::to_string(o.weight_decay));
}

namespace {
AdamOptions as_adam(const AdamWOptions& o) {
  return AdamOptions{o.lr, o.beta1, o.beta2, o.eps, o.weight_decay, o.amsgrad, o.maximize};
}
}  // namespace

void validate(const AdamWOptions& o) { validate(as_adam(o)); }

namespace detail {

template <class T>
void AdamBase<T>::add(std::vector<Parameter<T>*> params, const AdamOptions& o) {
  this->add_with_options(std::move(params), o);
  state_.resize(this->num_params_);
}

template <class T>
std::int64_t AdamBase<T>::step_count(std::size_t param_index) const {
  return state_.at(param_index).step;
}

template <class T>
void AdamBase<T>::reset_state() {
  for (auto& s : state_) s.step = 0;  // the moments are zeroed again on the next first step
}

template <class T>
void AdamBase<T>::step() {
  for (std::size_t gi = 0; gi < this->groups_.size(); ++gi) {
    const auto& g = this->groups_[gi];
    const AdamOptions& o = this->options_[gi];
    const double lr = g.lr;
    const T beta1 = T(o.beta1), beta2 = T(o.beta2), one_minus_beta1 = T(1 - o.beta1),
            one_minus_beta2 = T(1 - o.beta2), eps = T(o.eps), wd = T(o.weight_decay),
            decay = T(1 - lr * o.weight_decay);
    const bool coupled_wd = !decoupled_ && o.weight_decay != 0;
    for (std::size_t i = 0; i < g.params.size(); ++i) {
      Parameter<T>& p = *g.params[i];
      this->check_grad(p, gi, i);
      State& s = state_[g.first + i];
      if (s.step == 0) {
        // State initialisation (PyTorch: step 0, zero moments, zero max_exp_avg_sq with amsgrad).
        // setZero(rows, cols) reuses the memory when the shape is unchanged (after reset_state()).
        s.exp_avg.setZero(p.value.rows(), p.value.cols());
        s.exp_avg_sq.setZero(p.value.rows(), p.value.cols());
        if (o.amsgrad) s.max_exp_avg_sq.setZero(p.value.rows(), p.value.cols());
      } else if (s.exp_avg.rows() != p.value.rows() || s.exp_avg.cols() != p.value.cols()) {
        throw std::invalid_argument("tapegrad: " + std::string(this->name()) + ".step: parameter " +
                                    std::to_string(i) + " of group " + std::to_string(gi) +
                                    " changed shape since its moments were made");
      }
      ++s.step;
      const double step = static_cast<double>(s.step);
      const double bias_correction1 = 1 - std::pow(o.beta1, step);
      const double bias_correction2 = 1 - std::pow(o.beta2, step);
      const double step_size = lr / bias_correction1;
      const T bc2_sqrt = T(std::sqrt(bias_correction2));
      const T neg_step_size = T(-step_size);

      const Index n = p.value.size();
      T* theta = p.value.data();
      const T* grad = p.grad.data();
      T* m = s.exp_avg.data();
      T* v = s.exp_avg_sq.data();
      T* vmax = o.amsgrad ? s.max_exp_avg_sq.data() : nullptr;
      for (Index k = 0; k < n; ++k) {
        T gk = o.maximize ? -grad[k] : grad[k];
        if (decoupled_) theta[k] = theta[k] * decay;  // param.mul_(1 - lr * weight_decay)
        if (coupled_wd) gk = gk + wd * theta[k];      // grad.add(param, alpha=weight_decay)
        m[k] = m[k] * beta1;                          // exp_avg.mul_(beta1)
        m[k] = m[k] + one_minus_beta1 * gk;           //   .add_(grad, alpha=1 - beta1)
        v[k] = v[k] * beta2;                          // exp_avg_sq.mul_(beta2)
        v[k] = v[k] + one_minus_beta2 * gk * gk;      //   .addcmul_(grad, grad, value=1 - beta2)
        T second = v[k];
        if (vmax) {
          vmax[k] = (std::isnan(v[k]) || v[k] > vmax[k]) ? v[k] : vmax[k];  // torch.maximum (NaN propagates)
          second = vmax[k];
        }
        const T denom = std::sqrt(second) / bc2_sqrt + eps;  // (v.sqrt() / bc2_sqrt).add_(eps)
        theta[k] = theta[k] + neg_step_size * m[k] / denom;  // addcdiv_(exp_avg, denom, value=-step_size)
      }
    }
  }
}

namespace {
// The saved option fields, in order (serialize.hpp's WriteField / ReadField); O is AdamOptions, const or not.
template <class O, class F>
void saved_fields(O& o, F f) {
  TAPEGRAD_SAVED_FIELDS(o, f, beta1, beta2, eps, weight_decay, amsgrad, maximize)
}
}  // namespace

template <class T>
void AdamBase<T>::save_body(StateWriter& w) const {
  w.flag(decoupled_);
  for (const auto& o : this->options_) saved_fields(o, WriteField{w});
  for (std::size_t k = 0; k < state_.size(); ++k) {
    const auto& s = state_[k];
    w.i64(s.step);
    if (s.step > 0) {
      w.matrix(s.exp_avg);
      w.matrix(s.exp_avg_sq);
      w.flag(s.max_exp_avg_sq.size() > 0);
      if (s.max_exp_avg_sq.size() > 0) w.matrix(s.max_exp_avg_sq);
    }
  }
}

template <class T>
std::function<void()> AdamBase<T>::load_body(StateReader& r) {
  if (r.flag("decoupled flag") != decoupled_) r.fail("weight-decay mode differs (Adam vs AdamW)");
  auto opts = read_options<AdamOptions>(r, this->options_.size(),
                                        [](auto& o, auto field) { saved_fields(o, field); });
  std::vector<std::size_t> group_of;  // the group of each parameter
  for (std::size_t gi = 0; gi < opts.size(); ++gi)
    group_of.insert(group_of.end(), this->groups_[gi].params.size(), gi);
  std::vector<State> st(state_.size());
  const auto params = this->parameters();
  for (std::size_t k = 0; k < st.size(); ++k) {
    const Index rows = params[k]->value.rows(), cols = params[k]->value.cols();
    st[k].step = r.i64("step count");
    if (st[k].step < 0) r.fail("corrupted step count");
    if (st[k].step > 0) {
      st[k].exp_avg = r.matrix<T>("exp_avg", rows, cols);
      st[k].exp_avg_sq = r.matrix<T>("exp_avg_sq", rows, cols);
      const bool has_max = r.flag("max_exp_avg_sq flag");
      if (has_max != opts[group_of[k]].amsgrad)
        r.fail("max_exp_avg_sq present without amsgrad, or missing with it");
      if (has_max) st[k].max_exp_avg_sq = r.matrix<T>("max_exp_avg_sq", rows, cols);
    }
  }
  return [this, opts = std::move(opts), st = std::move(st)]() mutable {
    this->replace_options(std::move(opts));
    state_ = std::move(st);
  };
}

template class AdamBase<float>;
template class AdamBase<double>;

}  // namespace detail

template <class T>
Adam<T>::Adam(std::vector<Parameter<T>*> params, AdamOptions o) : detail::AdamBase<T>(false) {
  this->add(std::move(params), o);
}
template <class T>
void Adam<T>::add_param_group(std::vector<Parameter<T>*> params, AdamOptions o) {
  this->add(std::move(params), o);
}

template <class T>
AdamW<T>::AdamW(std::vector<Parameter<T>*> params, AdamWOptions o) : detail::AdamBase<T>(true) {
  this->add(std::move(params), as_adam(o));
}
template <class T>
void AdamW<T>::add_param_group(std::vector<Parameter<T>*> params, AdamWOptions o) {
  this->add(std::move(params), as_adam(o));
}
template <class T>
AdamWOptions AdamW<T>::options(std::size_t group) const {
  const AdamOptions o = this->group_options(group);
  return AdamWOptions{o.lr, o.beta1, o.beta2, o.eps, o.weight_decay, o.amsgrad, o.maximize};
}

template class Adam<float>;
template class Adam<double>;
template class AdamW<float>;
template class AdamW<double>;

}  // namespace tapegrad::optim
