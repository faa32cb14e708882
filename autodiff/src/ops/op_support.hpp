// Shared by the op files: shape checks and explicit instantiation.
#pragma once

#include <string>

#include "tapegrad/autodiff/ops.hpp"

namespace tapegrad::detail {

inline std::string shape_of(const Matrix<float>& m) { return shape_string(m.rows(), m.cols()); }
inline std::string shape_of(const Matrix<double>& m) { return shape_string(m.rows(), m.cols()); }
/// A node's shape (known when it is recorded: reading it computes nothing).
template <class T>
std::string shape_of(const Var<T>& v) {
  return shape_string(v.rows(), v.cols());
}

/// Both inputs must live on the same tape; returns it.
template <class T>
Tape<T>& same_tape(const char* op, const Var<T>& a, const Var<T>& b) {
  Tape<T>& t = a.tape();
  if (&b.tape() != &t) throw TapeError(std::string(op) + ": the two inputs belong to different tapes");
  t.check(a, op);
  t.check(b, op);
  return t;
}

template <class T>
bool is_vector(const Var<T>& v) {
  return v.rows() == 1 || v.cols() == 1;
}

}  // namespace tapegrad::detail
