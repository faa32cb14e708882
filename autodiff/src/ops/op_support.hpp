// Shared by the op files: shape checks, broadcasting, explicit instantiation.
#pragma once

#include <cstddef>
#include <string>
#include <type_traits>

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

template <class T>
bool same_shape(const Matrix<T>& x, const Matrix<T>& y) {
  return x.rows() == y.rows() && x.cols() == y.cols();
}

/// Entry (i, j) of x read (or written) as if x were broadcast to the output's shape: a row or column of one
/// entry stands for every row or column.
template <class T>
T broadcast_at(const Matrix<T>& x, Index i, Index j) {
  return x(x.rows() == 1 ? 0 : i, x.cols() == 1 ? 0 : j);
}
template <class T>
T& broadcast_at(Matrix<T>& x, Index i, Index j) {
  return x(x.rows() == 1 ? 0 : i, x.cols() == 1 ? 0 : j);
}

// out(i, j) = f(a(i, j), b(i, j)) with broadcasting; the same-shape case is a vectorised Eigen expression,
// and the broadcast ones (a bias row or column, a scalar) run column by column with the broadcast operand's
// step known at compile time, so the inner loop vectorises too.
template <class T, class F>
void binary_forward(OpContext<T>& c, F f) {
  const auto &a = c.in(0), &b = c.in(1);
  auto& out = c.out();
  if (same_shape(a, b)) {
    out = a.binaryExpr(b, f);
    return;
  }
  const Index rows = out.rows(), cols = out.cols();
  const Index a_col = a.cols() == 1 ? 0 : a.rows(), b_col = b.cols() == 1 ? 0 : b.rows();
  const T *pa = a.data(), *pb = b.data();
  T* po = out.data();
  auto run = [&](auto a_step, auto b_step) {  // 0: the operand's row broadcasts down the column
    for (Index j = 0; j < cols; ++j) {
      const T *ca = pa + j * a_col, *cb = pb + j * b_col;
      T* co = po + j * rows;
      for (Index i = 0; i < rows; ++i) co[i] = f(ca[i * a_step], cb[i * b_step]);
    }
  };
  using One = std::integral_constant<Index, 1>;
  using Zero = std::integral_constant<Index, 0>;
  const bool a_down = a.rows() == rows, b_down = b.rows() == rows;
  if (a_down && b_down)
    run(One{}, One{});
  else if (a_down)
    run(One{}, Zero{});
  else if (b_down)
    run(Zero{}, One{});
  else
    run(Zero{}, Zero{});
}

}  // namespace tapegrad::detail

// Explicitly instantiates the op Var<T> f(Var<T>) for float and double. An op file applies it to the list of
// its ops of that signature: #define TAPEGRAD_UNARY_OPS(X) X(exp) X(log) ..., then
// TAPEGRAD_UNARY_OPS(TAPEGRAD_INSTANTIATE_UNARY).
#define TAPEGRAD_INSTANTIATE_UNARY(f)       \
  template Var<float> f<float>(Var<float>); \
  template Var<double> f<double>(Var<double>);
