// Gradient clipping by global norm, as torch.nn.utils.clip_grad_norm_ (PyTorch 1.13, norm_type 2).
#pragma once

#include <vector>

#include "tapegrad/optim/optimizer.hpp"

namespace tapegrad::optim {

/// total = ‖(‖g₁‖, …, ‖gₖ‖)‖₂ over the parameters' gradients; every gradient is multiplied by
/// min(max_norm / (total + 1e-6), 1). Returns total (before clipping). Computed in T, as PyTorch does
/// for tensors of T. Throws std::invalid_argument for a negative or NaN max_norm.
template <class T>
double clip_grad_norm(const std::vector<Parameter<T>*>& params, double max_norm);

/// The same over every parameter of an optimizer (without allocating).
template <class T>
double clip_grad_norm(const Optimizer<T>& opt, double max_norm);

/// \cond
extern template double clip_grad_norm<float>(const std::vector<Parameter<float>*>&, double);
extern template double clip_grad_norm<double>(const std::vector<Parameter<double>*>&, double);
extern template double clip_grad_norm<float>(const Optimizer<float>&, double);
extern template double clip_grad_norm<double>(const Optimizer<double>&, double);
/// \endcond

}  // namespace tapegrad::optim
