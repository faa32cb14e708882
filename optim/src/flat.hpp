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
