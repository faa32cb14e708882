// clip_grad_norm_ as in PyTorch 1.13 (torch/nn/utils/clip_grad.py, norm_type 2, error_if_nonfinite=False):
//   norms = [torch.norm(g, 2) for g in grads]
//   total_norm = torch.norm(torch.stack(norms), 2)
//   clip_coef = max_norm / (total_norm + 1e-6)
//   clip_coef_clamped = torch.clamp(clip_coef, max=1.0)
//   for g in grads: g.mul_(clip_coef_clamped)         # always, even when the coefficient is 1
// total_norm, clip_coef and the product are tensors of the gradients' dtype: computed in T here too.
// (PyTorch's norm reduction may sum in another order; that changes the last bit at most.)
#include "tapegrad/optim/clip.hpp"

#include <cmath>
#include <string>

namespace tapegrad::optim {

namespace {
// `for_each(f)` calls f(Parameter<T>&) for every parameter.
template <class T, class ForEach>
double clip(ForEach for_each, double max_norm) {
  if (!(max_norm >= 0))
    throw std::invalid_argument("tapegrad: clip_grad_norm: max_norm must be >= 0, got " +
                                std::to_string(max_norm));
  T total_sq = 0;
  for_each([&](Parameter<T>& p) {
    const T norm = std::sqrt(p.grad.squaredNorm());  // torch.norm(g, 2)
    total_sq += norm * norm;
  });
  const T total = std::sqrt(total_sq);  // torch.norm(torch.stack(norms), 2)
  T coef = T(max_norm) / (total + T(1e-6));
  if (coef > T(1)) coef = T(1);  // clamp(max=1.0); a NaN coefficient stays NaN, as in PyTorch
  for_each([&](Parameter<T>& p) { p.grad *= coef; });
  return static_cast<double>(total);
}
}  // namespace

template <class T>
double clip_grad_norm(const std::vector<Parameter<T>*>& params, double max_norm) {
  for (const auto* p : params)
    if (!p) throw std::invalid_argument("tapegrad: clip_grad_norm: null parameter");
  return clip<T>(
      [&](auto&& f) {
        for (auto* p : params) f(*p);
      },
      max_norm);
}

template <class T>
double clip_grad_norm(const Optimizer<T>& opt, double max_norm) {
  return clip<T>(
      [&](auto&& f) {
        for (std::size_t g = 0; g < opt.num_groups(); ++g)
          for (auto* p : opt.group_parameters(g)) f(*p);
      },
      max_norm);
}

template double clip_grad_norm<float>(const std::vector<Parameter<float>*>&, double);
template double clip_grad_norm<double>(const std::vector<Parameter<double>*>&, double);
template double clip_grad_norm<float>(const Optimizer<float>&, double);
template double clip_grad_norm<double>(const Optimizer<double>&, double);

}  // namespace tapegrad::optim
