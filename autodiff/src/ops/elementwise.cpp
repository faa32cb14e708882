// Elementwise functions of one matrix.
#include <cmath>

#include "op_support.hpp"

namespace tapegrad {

template <class T>
Var<T> square(Var<T> a) {
  // C = A²   =>   dA += 2 A ∘ dC
  static constexpr OpDef<T> op{
      "square", OpKind::square, [](OpContext<T>& c) { c.out() = c.in(0).array().square(); },
      [](OpContext<T>& c) { c.grad_in(0).array() += T(2) * c.in(0).array() * c.grad_out().array(); }};
  return a.tape().record(op, {a}, a.rows(), a.cols());
}

template <class T>
Var<T> exp(Var<T> a) {
  // C = exp(A)   =>   dA += C ∘ dC
  return a.tape().record(
      "exp", {a}, a.rows(), a.cols(), [](OpContext<T>& c) { c.out() = c.in(0).array().exp(); },
      [](OpContext<T>& c) { c.grad_in(0).array() += c.out().array() * c.grad_out().array(); });
}

template <class T>
Var<T> log(Var<T> a) {
  // C = log(A)   =>   dA += dC / A
  return a.tape().record(
      "log", {a}, a.rows(), a.cols(), [](OpContext<T>& c) { c.out() = c.in(0).array().log(); },
      [](OpContext<T>& c) { c.grad_in(0).array() += c.grad_out().array() / c.in(0).array(); });
}

template <class T>
Var<T> sqrt(Var<T> a) {
  // C = √A   =>   dA += dC / (2 C)
  return a.tape().record(
      "sqrt", {a}, a.rows(), a.cols(), [](OpContext<T>& c) { c.out() = c.in(0).array().sqrt(); },
      [](OpContext<T>& c) { c.grad_in(0).array() += c.grad_out().array() / (T(2) * c.out().array()); });
}

template <class T>
Var<T> pow(Var<T> a, T p) {
  // C = A^p   =>   dA += p A^(p-1) ∘ dC
  return a.tape().record(
      "pow", {a}, a.rows(), a.cols(), [](OpContext<T>& c) { c.out() = c.in(0).array().pow(c.scalar()); },
      [](OpContext<T>& c) {
        const T p = c.scalar();
        if (p == T(0)) return;
        c.grad_in(0).array() += p * c.in(0).array().pow(p - T(1)) * c.grad_out().array();
      },
      p);
}

template <class T>
Var<T> abs(Var<T> a) {
  // C = |A|   =>   dA += sign(A) ∘ dC   (sign(0) = 0)
  return a.tape().record(
      "abs", {a}, a.rows(), a.cols(), [](OpContext<T>& c) { c.out() = c.in(0).array().abs(); },
      [](OpContext<T>& c) { c.grad_in(0).array() += c.in(0).array().sign() * c.grad_out().array(); });
}

template <class T>
Var<T> relu(Var<T> a) {
  // C = max(A, 0)   =>   dA += [A > 0] ∘ dC
  return a.tape().record(
      "relu", {a}, a.rows(), a.cols(), [](OpContext<T>& c) { c.out() = c.in(0).array().max(T(0)); },
      [](OpContext<T>& c) {
        c.grad_in(0).array() += (c.in(0).array() > T(0)).select(c.grad_out().array(), T(0));
      });
}

template <class T>
Var<T> tanh(Var<T> a) {
  // C = tanh(A)   =>   dA += (1 - C²) ∘ dC
  return a.tape().record(
      "tanh", {a}, a.rows(), a.cols(), [](OpContext<T>& c) { c.out() = c.in(0).array().tanh(); },
      [](OpContext<T>& c) {
        c.grad_in(0).array() += (T(1) - c.out().array().square()) * c.grad_out().array();
      });
}

template <class T>
Var<T> sigmoid(Var<T> a) {
  // C = 1 / (1 + exp(-A))   =>   dA += C (1 - C) ∘ dC
  return a.tape().record(
      "sigmoid", {a}, a.rows(), a.cols(),
      [](OpContext<T>& c) {
        // Stable for large |x|: never exponentiates a positive number.
        c.out() = c.in(0).unaryExpr([](T x) {
          if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
          const T e = std::exp(x);
          return e / (T(1) + e);
        });
      },
      [](OpContext<T>& c) {
        c.grad_in(0).array() += c.out().array() * (T(1) - c.out().array()) * c.grad_out().array();
      });
}

#define TAPEGRAD_INSTANTIATE(T)      \
  template Var<T> square<T>(Var<T>); \
  template Var<T> exp<T>(Var<T>);    \
  template Var<T> log<T>(Var<T>);    \
  template Var<T> sqrt<T>(Var<T>);   \
  template Var<T> pow<T>(Var<T>, T); \
  template Var<T> abs<T>(Var<T>);    \
  template Var<T> relu<T>(Var<T>);   \
  template Var<T> tanh<T>(Var<T>);   \
  template Var<T> sigmoid<T>(Var<T>);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace tapegrad
