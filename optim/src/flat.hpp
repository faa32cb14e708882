// Internal: the closure optimizers' (L-BFGS, TrustRegion) view of their parameters as one flat vector, in
// parameter order, column-major within each: values gathered from and scattered to the parameters, and
// per-parameter matrices (directions, gradients) gathered into and scattered from such a vector.
#pragma once

#include <vector>

#include "tapegrad/optim/optimizer.hpp"

namespace tapegrad::optim::detail {

template <class T, class Vec>
void gather_values(const std::vector<Parameter<T>*>& params, Vec& x) {
  Index k = 0;
  for (auto* p : params) {
    x.segment(k, p->value.size()) = p->value.reshaped();
    k += p->value.size();
  }
}

template <class T, class Vec>
void scatter_values(const Vec& x, const std::vector<Parameter<T>*>& params) {
  Index k = 0;
  for (auto* p : params) {
    p->value.reshaped() = x.segment(k, p->value.size());
    k += p->value.size();
  }
}

// The parameters' gradients into g, each first checked by check(parameter, index) (Optimizer::check_grad).
template <class T, class Vec, class Check>
void gather_grads(const std::vector<Parameter<T>*>& params, Vec& g, Check check) {
  Index k = 0;
  std::size_t i = 0;
  for (auto* p : params) {
    check(*p, i++);
    g.segment(k, p->grad.size()) = p->grad.reshaped();
    k += p->grad.size();
  }
}

// Whether the parameters' values are x, entry for entry (and, given g, their gradients g).
template <class T, class Vec>
bool at_point(const std::vector<Parameter<T>*>& params, const Vec& x, const Vec* g = nullptr) {
  Index k = 0;
  for (auto* p : params) {
    const Index n = p->value.size();
    if (p->value.reshaped() != x.segment(k, n)) return false;
    if (g && (p->grad.size() != n || p->grad.reshaped() != g->segment(k, n))) return false;
    k += n;
  }
  return true;
}

template <class T, class Vec>
void gather(const std::vector<Matrix<T>>& parts, Vec& out) {
  Index k = 0;
  for (const auto& m : parts) {
    out.segment(k, m.size()) = m.reshaped();
    k += m.size();
  }
}

template <class T, class Vec>
void scatter(const Vec& in, std::vector<Matrix<T>>& parts) {
  Index k = 0;
  for (auto& m : parts) {
    m.reshaped() = in.segment(k, m.size());
    k += m.size();
  }
}

}  // namespace tapegrad::optim::detail
