// Second-order rules shared by the elementwise ops (OpDef::tangent and tangent_backward;
// docs/second-order.md).
//
// For C = f(A) entrywise, with the backward dA += f'(A) ∘ G:
//   tangent            Ċ = f'(A) ∘ Ȧ
//   tangent backward   dȦ += f'(A) ∘ Ġ + f''(A) ∘ Ȧ ∘ G    (the directional derivative of the backward)
// A rule struct D gives D::d1(a, c, s) = f'(a) and D::d2(a, c, s) = f''(a) from an entry a of A, the entry c
// of C and the op's scalar s, written as the op's backward writes f' (so that the tangent is exactly that of
// the backward that ran).
#pragma once

#include <cmath>

#include "tapegrad/autodiff/tape.hpp"

namespace tapegrad::detail {

template <class T, class D>
void unary_tangent(OpContext<T>& c) {
  const T *a = c.in(0).data(), *o = c.out().data(), *ta = c.tangent_in(0).data();
  T* t = c.tangent_out().data();
  const T s = c.scalar();
  const Index n = c.out().size();
  for (Index i = 0; i < n; ++i) t[i] = D::d1(a[i], o[i], s) * ta[i];
}

template <class T, class D>
void unary_tangent_backward(OpContext<T>& c) {
  const T *a = c.in(0).data(), *o = c.out().data(), *ta = c.tangent_in(0).data();
  const T *g = c.grad_out().data(), *dg = c.grad_out_tangent().data();
  T* out = c.grad_in_tangent(0).data();
  const T s = c.scalar();
  const Index n = c.out().size();
  for (Index i = 0; i < n; ++i) out[i] += D::d1(a[i], o[i], s) * dg[i] + D::d2(a[i], o[i], s) * ta[i] * g[i];
}

/// An elementwise op of one input (and a scalar) recorded with the second-order rules of D; `kind` names it
/// for the graph optimizer (OpKind::square, log, relu, tanh, sigmoid), custom for the others.
template <class T, class D>
Var<T> record_elementwise(const Var<T>& a, const char* name, ForwardFn<T> forward, BackwardFn<T> backward,
                          T scalar = T(0), CostFn cost = nullptr, OpKind kind = OpKind::custom) {
  return a.tape().record(
      OpDef<T>{name, kind, forward, backward, cost, false, unary_tangent<T, D>, unary_tangent_backward<T, D>},
      {a}, a.rows(), a.cols(), scalar);
}

// f' and f'' of the elementwise functions (a: the input entry, c: the output entry, s: the op's scalar).
struct DSquare {  // a²
  template <class T>
  static T d1(T a, T, T) {
    return T(2) * a;
  }
  template <class T>
  static T d2(T, T, T) {
    return T(2);
  }
};
struct DExp {  // exp(a): f' = f'' = c
  template <class T>
  static T d1(T, T c, T) {
    return c;
  }
  template <class T>
  static T d2(T, T c, T) {
    return c;
  }
};
struct DLog {  // log(a): 1/a, -1/a²
  template <class T>
  static T d1(T a, T, T) {
    return T(1) / a;
  }
  template <class T>
  static T d2(T a, T, T) {
    return -T(1) / (a * a);
  }
};
struct DSqrt {  // √a: 1/(2c), -1/(4c³)
  template <class T>
  static T d1(T, T c, T) {
    return T(1) / (T(2) * c);
  }
  template <class T>
  static T d2(T, T c, T) {
    return -T(1) / (T(4) * c * c * c);
  }
};
struct DPow {  // a^s: s a^(s-1), s (s-1) a^(s-2); 0 for s = 0 (and the second for s = 1)
  template <class T>
  static T d1(T a, T, T s) {
    return s == T(0) ? T(0) : s * std::pow(a, s - T(1));
  }
  template <class T>
  static T d2(T a, T, T s) {
    return s == T(0) || s == T(1) ? T(0) : s * (s - T(1)) * std::pow(a, s - T(2));
  }
};
struct DAbs {  // |a|: sign(a), 0
  template <class T>
  static T d1(T a, T, T) {
    return a > T(0) ? T(1) : a < T(0) ? T(-1) : T(0);
  }
  template <class T>
  static T d2(T, T, T) {
    return T(0);
  }
};
struct DRelu {  // max(a, 0): [a > 0], 0
  template <class T>
  static T d1(T a, T, T) {
    return a > T(0) ? T(1) : T(0);
  }
  template <class T>
  static T d2(T, T, T) {
    return T(0);
  }
};
struct DTanh {  // tanh(a): 1 - c², -2c (1 - c²)
  template <class T>
  static T d1(T, T c, T) {
    return T(1) - c * c;
  }
  template <class T>
  static T d2(T, T c, T) {
    return T(-2) * c * (T(1) - c * c);
  }
};
struct DSigmoid {  // σ(a): c (1 - c), c (1 - c)(1 - 2c)
  template <class T>
  static T d1(T, T c, T) {
    return c * (T(1) - c);
  }
  template <class T>
  static T d2(T, T c, T) {
    return c * (T(1) - c) * (T(1) - T(2) * c);
  }
};
struct DSin {  // sin(a): cos(a), -c
  template <class T>
  static T d1(T a, T, T) {
    return std::cos(a);
  }
  template <class T>
  static T d2(T, T c, T) {
    return -c;
  }
};
struct DCos {  // cos(a): -sin(a), -c
  template <class T>
  static T d1(T a, T, T) {
    return -std::sin(a);
  }
  template <class T>
  static T d2(T, T c, T) {
    return -c;
  }
};
struct DLog1p {  // log(1 + a): 1/(1 + a), -1/(1 + a)²
  template <class T>
  static T d1(T a, T, T) {
    return T(1) / (T(1) + a);
  }
  template <class T>
  static T d2(T a, T, T) {
    return -T(1) / ((T(1) + a) * (T(1) + a));
  }
};
struct DExpm1 {  // exp(a) - 1: c + 1, c + 1
  template <class T>
  static T d1(T, T c, T) {
    return c + T(1);
  }
  template <class T>
  static T d2(T, T c, T) {
    return c + T(1);
  }
};
struct DSoftplus {  // log(1 + exp(a)): σ(a), σ(a)(1 - σ(a))
  template <class T>
  static T sigma(T a) {
    return a >= T(0) ? T(1) / (T(1) + std::exp(-a)) : std::exp(a) / (T(1) + std::exp(a));
  }
  template <class T>
  static T d1(T a, T, T) {
    return sigma(a);
  }
  template <class T>
  static T d2(T a, T, T) {
    return sigma(a) * (T(1) - sigma(a));
  }
};
struct DNeg {  // -a (and s - a)
  template <class T>
  static T d1(T, T, T) {
    return T(-1);
  }
  template <class T>
  static T d2(T, T, T) {
    return T(0);
  }
};
struct DShift {  // a + s
  template <class T>
  static T d1(T, T, T) {
    return T(1);
  }
  template <class T>
  static T d2(T, T, T) {
    return T(0);
  }
};
struct DScale {  // s a
  template <class T>
  static T d1(T, T, T s) {
    return s;
  }
  template <class T>
  static T d2(T, T, T) {
    return T(0);
  }
};
struct DRecip {  // s / a: -c/a, 2c/a²
  template <class T>
  static T d1(T a, T c, T) {
    return -c / a;
  }
  template <class T>
  static T d2(T a, T c, T) {
    return T(2) * c / (a * a);
  }
};

// logsumexp of everything (Mode 0, c 1x1), of each row (1, c Rx1) or of each column (2, c 1xC), S = exp(A -
// c) (the softmax within the reduced group):   ċ = Σ S ∘ Ȧ;   the backward dA += S ∘ G has the tangent dȦ +=
// S ∘ (Ġ + G (Ȧ - ċ))   (G, Ġ, c, ċ broadcast over the group).
template <int Mode>
inline Index lse_row(Index i) {
  return Mode == 1 ? i : 0;
}
template <int Mode>
inline Index lse_col(Index j) {
  return Mode == 2 ? j : 0;
}
template <class T, int Mode>
void lse_tangent(OpContext<T>& c) {
  const auto &a = c.in(0), &o = c.out(), &ta = c.tangent_in(0);
  auto& t = c.tangent_out();
  t.setZero();
  for (Index j = 0; j < a.cols(); ++j)
    for (Index i = 0; i < a.rows(); ++i)
      t(lse_row<Mode>(i), lse_col<Mode>(j)) +=
          std::exp(a(i, j) - o(lse_row<Mode>(i), lse_col<Mode>(j))) * ta(i, j);
}
template <class T, int Mode>
void lse_tangent_backward(OpContext<T>& c) {
  const auto &a = c.in(0), &o = c.out(), &ta = c.tangent_in(0), &to = c.tangent_out();
  const auto &g = c.grad_out(), &dg = c.grad_out_tangent();
  auto& out = c.grad_in_tangent(0);
  for (Index j = 0; j < a.cols(); ++j) {
    for (Index i = 0; i < a.rows(); ++i) {
      const Index r = lse_row<Mode>(i), k = lse_col<Mode>(j);
      out(i, j) += std::exp(a(i, j) - o(r, k)) * (dg(r, k) + g(r, k) * (ta(i, j) - to(r, k)));
    }
  }
}

}  // namespace tapegrad::detail
