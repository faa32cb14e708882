// Dense matrices and the errors every part of tapegrad shares.
#pragma once

#include <Eigen/Core>
#include <stdexcept>
#include <string>

namespace tapegrad {

/// The dense matrix type of every node, parameter and gradient: column-major, dynamic size.
template <class T>
using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;

/// Row and column counts (Eigen's signed index type).
using Index = Eigen::Index;

/// "3x2": how shapes appear in every error message.
inline std::string shape_string(Index rows, Index cols) {
  return std::to_string(rows) + "x" + std::to_string(cols);
}

/// An op was given inputs whose shapes do not fit; the message names the op and the shapes.
class ShapeError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// A tape was misused: a handle from a cleared or another tape, backward of a non-scalar without a seed, ...
class TapeError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

/// Anomaly detection found a NaN or an infinity; the message names the op, the node and the pass.
class NonFiniteError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace tapegrad
