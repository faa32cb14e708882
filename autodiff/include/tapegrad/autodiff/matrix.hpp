// Dense matrices and the errors every part of tapegrad shares.
#pragma once

#include "tapegrad/autodiff/gcc12_avx512_workaround.hpp"  // before Eigen

#include <Eigen/Core>
#include <stdexcept>
#include <string>

// Matrices are allocated on one side of the library boundary and freed on the other, so Eigen must allocate
// the same way in tapegrad and in every program that uses it, whatever either was compiled for (-march=native
// included). The CMake targets (tapegrad::autodiff and those that link it) define both macros for you; a
// build without CMake must pass -DEIGEN_MAX_ALIGN_BYTES=16 -DEIGEN_MALLOC_ALREADY_ALIGNED=0 to every
// translation unit that includes Eigen (autodiff/CMakeLists.txt says why).
static_assert(EIGEN_MAX_ALIGN_BYTES == 16 && EIGEN_MALLOC_ALREADY_ALIGNED == 0,
              "tapegrad needs Eigen configured as the library was: compile with -DEIGEN_MAX_ALIGN_BYTES=16 "
              "-DEIGEN_MALLOC_ALREADY_ALIGNED=0 (link the CMake target tapegrad::autodiff, which sets them), "
              "defined before any Eigen header is included");

/// tapegrad: reverse-mode automatic differentiation over dense matrices (the tape, its ops, the gradient
/// checker). tapegrad::optim holds the optimizers, tapegrad::svd the SVD solver and matrix readers,
/// tapegrad::mpi the collective ops.
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

/// A tape was misused: a handle from a cleared or another tape, backward of a non-scalar without its root
/// gradient, ...
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
