// Buffer sizing shared by the tape and the HVP tape (internal).
#pragma once

#include "tapegrad/autodiff/matrix.hpp"

namespace tapegrad::detail {

// m.resize(rows, cols), skipped when the shape is already right: Eigen's resize checks rows * cols for
// overflow with an integer division, which is most of the cost of recording or zeroing a 1x1 node.
template <class T>
void resize_to(Matrix<T>& m, Index rows, Index cols) {
  if (m.rows() != rows || m.cols() != cols) m.resize(rows, cols);
}

}  // namespace tapegrad::detail
