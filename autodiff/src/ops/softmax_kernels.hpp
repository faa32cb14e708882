// The kernels the softmax family and the classification losses share (ops/softmax.cpp,
// ops/classification.cpp): chunked exponentials and the stable logsumexp of each row or column.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "../vecmath.hpp"
#include "op_support.hpp"

namespace tapegrad::detail {

// The direction of a softmax node (its attr): normalise each row (PyTorch's dim=1) or each column (dim=0).
inline constexpr std::uint32_t kEachColumn = 0, kEachRow = 1;
inline constexpr Index kChunk = 256;

// f(i, e, len) for consecutive chunks of x[0, n): e[k] = exp(x[i + k] - shift[i + k]) (shift_step 1) or
// exp(x[i + k] - shift[0]) (shift_step 0).
template <class T, class F>
void exp_chunks(const T* x, const T* shift, Index shift_step, Index n, F f) {
  alignas(64) T buf[kChunk];
  for (Index i = 0; i < n; i += kChunk) {
    const Index len = std::min(kChunk, n - i);
    for (Index k = 0; k < len; ++k) buf[k] = x[i + k] - shift[(i + k) * shift_step];
    detail::vec::exp(buf, buf, len);
    f(i, buf, len);
  }
}

// For each row i: m[i] = max_j x_ij and ls[i] = log Σ_j exp(x_ij - m_i), so that the row's logsumexp is
// m[i] + ls[i] (kept apart: (x - m) - ls loses nothing to the rounding of a large m + ls). A row whose
// maximum is not finite (every entry -inf; +inf; NaN) gets ls = 0: its logsumexp is that maximum.
template <class T>
void rows_logsumexp(const Matrix<T>& x, T* m, T* ls) {
  const Index r = x.rows();
  Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>(m, r) = x.rowwise().maxCoeff().array();
  Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>(ls, r).setZero();
  for (Index j = 0; j < x.cols(); ++j)
    exp_chunks(x.col(j).data(), m, 1, r, [&](Index i, const T* e, Index len) {
      for (Index k = 0; k < len; ++k) ls[i + k] += e[k];
    });
  detail::vec::log(ls, ls, r);
  for (Index i = 0; i < r; ++i)
    if (!std::isfinite(m[i])) ls[i] = T(0);
}

// The same for each column j: m[j] its maximum, ls[j] = log Σ_i exp(x_ij - m_j).
template <class T>
void cols_logsumexp(const Matrix<T>& x, T* m, T* ls) {
  for (Index j = 0; j < x.cols(); ++j) {
    m[j] = x.col(j).maxCoeff();
    ls[j] = T(0);
    if (!std::isfinite(m[j])) continue;
    T sum = T(0);
    exp_chunks(x.col(j).data(), &m[j], 0, x.rows(), [&](Index, const T* e, Index len) {
      for (Index k = 0; k < len; ++k) sum += e[k];
    });
    ls[j] = std::log(sum);
  }
}

}  // namespace tapegrad::detail
