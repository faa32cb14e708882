// The classification examples' accuracy measure (classifier.cpp, softmax_classifier.cpp).
#pragma once

#include <cstddef>
#include <vector>

#include "tapegrad/autodiff.hpp"

namespace tapegrad::examples {

/// The fraction of rows of `logits` (one row per point, one column per class) whose largest entry is in
/// the column of the point's label.
template <class Label>
double accuracy(const Matrix<double>& logits, const std::vector<Label>& labels) {
  int right = 0;
  for (Index i = 0; i < logits.rows(); ++i) {
    Index best = 0;
    logits.row(i).maxCoeff(&best);
    right += best == static_cast<Index>(labels[static_cast<std::size_t>(i)]);
  }
  return static_cast<double>(right) / static_cast<double>(logits.rows());
}

}  // namespace tapegrad::examples
