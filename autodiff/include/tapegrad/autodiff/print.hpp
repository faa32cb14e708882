// Printing Vars and Parameters: std::cout << v shows the shape, the op (or the parameter's name) and the
// value.
#pragma once

#include <ostream>

#include "tapegrad/autodiff/tape.hpp"

namespace tapegrad {

namespace detail {
/// Rows on their own lines, indented two spaces, entries aligned (the stream's precision applies).
inline const Eigen::IOFormat& print_format() {
  static const Eigen::IOFormat f(Eigen::StreamPrecision, 0, " ", "\n", "  ", "");
  return f;
}
}  // namespace detail

/// Prints "Var 2x3 matmul:" and the value (computed first if it is not yet), one row per line. A
/// default-constructed Var or a handle from a cleared tape throws TapeError, as value() does.
template <class T>
std::ostream& operator<<(std::ostream& os, const Var<T>& v) {
  os << "Var " << shape_string(v.rows(), v.cols()) << ' ' << v.op_name() << ':';
  if (v.rows() * v.cols() > 0) os << '\n' << v.value().format(detail::print_format());
  return os;
}

/// Prints "Parameter "name" 2x3:" (the name only if it has one) and the value, one row per line.
template <class T>
std::ostream& operator<<(std::ostream& os, const Parameter<T>& p) {
  os << "Parameter ";
  if (!p.name().empty()) os << '"' << p.name() << "\" ";
  os << shape_string(p.rows(), p.cols()) << ':';
  if (p.value.size() > 0) os << '\n' << p.value.format(detail::print_format());
  return os;
}

}  // namespace tapegrad
