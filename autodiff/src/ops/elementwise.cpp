// Elementwise functions of one matrix (and pow with a matrix exponent). The transcendental ones (exp, log,
// tanh, sigmoid, pow, sin, cos, log1p, expm1, softplus) go through
// detail::vec: SLEEF's SIMD functions (within 1 ulp; float tanh 3.5, sigmoid 3) or libm (vecmath.hpp).
#include <algorithm>
#include <cmath>

#include "../vecmath.hpp"
#include "costs.hpp"
#include "kernels.hpp"
#include "op_support.hpp"
#include "second_order.hpp"

namespace tapegrad {
namespace {

// The output's data, the output sized like input 0 first (a no-op unless a replay changed the input's
// shape), for the forward functions that write it through a pointer.
template <class T>
T* out_like_in(OpContext<T>& c) {
  c.out().resize(c.in(0).rows(), c.in(0).cols());
  return c.out().data();
}

// dx[i] += p x[i]^(p-1) dc[i] for i < n: x^(p-1) goes through a 256-element chunk on the stack, so the
// backward pass allocates nothing.
template <class T>
void add_pow_grad(const T* x, T p, const T* dc, T* dx, Index n) {
  using Chunk = Eigen::Array<T, Eigen::Dynamic, 1>;
  constexpr Index kChunk = 256;
  T xp[kChunk];
  for (Index i = 0; i < n; i += kChunk) {
    const Index m = std::min(kChunk, n - i);
    detail::vec::pow(x + i, p - T(1), xp, m);
    Eigen::Map<Chunk>(dx + i, m) += p * Eigen::Map<const Chunk>(xp, m) * Eigen::Map<const Chunk>(dc + i, m);
  }
}

// C = f(A) for an array function f of detail::vec.
template <class T>
void vec_forward(OpContext<T>& c, void (*f)(const T*, T*, Index)) {
  f(c.in(0).data(), out_like_in(c), c.in(0).size());
}

// dA += f(A) ∘ dC, f an array function of detail::vec evaluated into a 256-element chunk on the stack (no
// allocation); sign -1 subtracts.
template <class T>
void add_vec_grad(OpContext<T>& c, void (*f)(const T*, T*, Index), T sign = T(1)) {
  using Chunk = Eigen::Array<T, Eigen::Dynamic, 1>;
  constexpr Index kChunk = 256;
  const T *x = c.in(0).data(), *dc = c.grad_out().data();
  T* dx = c.grad_in(0).data();
  const Index n = c.in(0).size();
  T fx[kChunk];
  for (Index i = 0; i < n; i += kChunk) {
    const Index m = std::min(kChunk, n - i);
    f(x + i, fx, m);
    Eigen::Map<Chunk>(dx + i, m) +=
        sign * Eigen::Map<const Chunk>(fx, m) * Eigen::Map<const Chunk>(dc + i, m);
  }
}

}  // namespace

template <class T>
Var<T> square(Var<T> a) {
  // C = A²   =>   dA += 2 A ∘ dC   (cost: n, backward 3n reading dC, A)
  return detail::record_elementwise<T, detail::DSquare>(
      a, "square", [](OpContext<T>& c) { c.out() = c.in(0).array().square(); },
      [](OpContext<T>& c) { c.grad_in(0).array() += T(2) * c.in(0).array() * c.grad_out().array(); }, T(0),
      detail::unary_cost<1, 3, 1>, OpKind::square);
}

template <class T>
Var<T> exp(Var<T> a) {
  // C = exp(A)   =>   dA += C ∘ dC   (cost: n, backward 2n reading dC, C)
  return detail::record_elementwise<T, detail::DExp>(
      a, "exp", [](OpContext<T>& c) { vec_forward<T>(c, detail::vec::exp); },
      [](OpContext<T>& c) { c.grad_in(0).array() += c.out().array() * c.grad_out().array(); }, T(0),
      detail::unary_cost<1, 2, 1>);
}

template <class T>
Var<T> log(Var<T> a) {
  // C = log(A)   =>   dA += dC / A   (cost: n, backward 2n reading dC, A)
  return detail::record_elementwise<T, detail::DLog>(
      a, "log", [](OpContext<T>& c) { vec_forward<T>(c, detail::vec::log); },
      [](OpContext<T>& c) { c.grad_in(0).array() += c.grad_out().array() / c.in(0).array(); }, T(0),
      detail::unary_cost<1, 2, 1>, OpKind::log);
}

template <class T>
Var<T> sqrt(Var<T> a) {
  // C = √A   =>   dA += dC / (2 C)   (cost: n, backward 3n reading dC, C)
  return detail::record_elementwise<T, detail::DSqrt>(
      a, "sqrt", [](OpContext<T>& c) { c.out() = c.in(0).array().sqrt(); },
      [](OpContext<T>& c) { c.grad_in(0).array() += c.grad_out().array() / (T(2) * c.out().array()); }, T(0),
      detail::unary_cost<1, 3, 1>);
}

template <class T>
Var<T> pow(Var<T> a, T p) {
  // C = A^p   =>   dA += p A^(p-1) ∘ dC   (cost: n, backward 4n reading dC, A; nothing for p = 0)
  static constexpr CostFn cost = [](const OpShapes& s, bool backward) -> OpCost {
    if (backward && s.scalar == 0) return {};
    return detail::unary_cost<1, 4, 1>(s, backward);
  };
  return detail::record_elementwise<T, detail::DPow>(
      a, "pow",
      [](OpContext<T>& c) { detail::vec::pow(c.in(0).data(), c.scalar(), out_like_in(c), c.in(0).size()); },
      [](OpContext<T>& c) {
        const T p = c.scalar();
        if (p == T(0)) return;
        add_pow_grad(c.in(0).data(), p, c.grad_out().data(), c.grad_in(0).data(), c.in(0).size());
      },
      p, cost);
}

template <class T>
Var<T> abs(Var<T> a) {
  // C = |A|   =>   dA += sign(A) ∘ dC   (sign(0) = 0; cost: n, backward 3n reading dC, A)
  return detail::record_elementwise<T, detail::DAbs>(
      a, "abs", [](OpContext<T>& c) { c.out() = c.in(0).array().abs(); },
      [](OpContext<T>& c) { c.grad_in(0).array() += c.in(0).array().sign() * c.grad_out().array(); }, T(0),
      detail::unary_cost<1, 3, 1>);
}

template <class T>
Var<T> relu(Var<T> a) {
  // C = max(A, 0)   =>   dA += [A > 0] ∘ dC   (cost: n, backward 3n reading dC, A)
  return detail::record_elementwise<T, detail::DRelu>(
      a, "relu", [](OpContext<T>& c) { c.out() = c.in(0).array().max(T(0)); },
      [](OpContext<T>& c) {
        c.grad_in(0).array() += (c.in(0).array() > T(0)).select(c.grad_out().array(), T(0));
      },
      T(0), detail::unary_cost<1, 3, 1>, OpKind::relu);
}

template <class T>
Var<T> tanh(Var<T> a) {
  // C = tanh(A)   =>   dA += (1 - C²) ∘ dC   (cost: n, backward 4n reading dC, C)
  return detail::record_elementwise<T, detail::DTanh>(
      a, "tanh", [](OpContext<T>& c) { vec_forward<T>(c, detail::vec::tanh); },
      [](OpContext<T>& c) {
        c.grad_in(0).array() += (T(1) - c.out().array().square()) * c.grad_out().array();
      },
      T(0), detail::unary_cost<1, 4, 1>, OpKind::tanh);
}

template <class T>
Var<T> sigmoid(Var<T> a) {
  // C = 1 / (1 + exp(-A))   =>   dA += C (1 - C) ∘ dC   (cost: n, backward 4n reading dC, C)
  return detail::record_elementwise<T, detail::DSigmoid>(
      a, "sigmoid",
      [](OpContext<T>& c) {
        // Stable for large |x|: never exponentiates a positive number.
        vec_forward<T>(c, detail::vec::sigmoid);
      },
      [](OpContext<T>& c) {
        c.grad_in(0).array() += c.out().array() * (T(1) - c.out().array()) * c.grad_out().array();
      },
      T(0), detail::unary_cost<1, 4, 1>, OpKind::sigmoid);
}

template <class T>
Var<T> sin(Var<T> a) {
  // C = sin(A)   =>   dA += cos(A) ∘ dC   (cost: n, backward 3n reading dC, A)
  return detail::record_elementwise<T, detail::DSin>(
      a, "sin", [](OpContext<T>& c) { vec_forward<T>(c, detail::vec::sin); },
      [](OpContext<T>& c) { add_vec_grad(c, detail::vec::cos); }, T(0), detail::unary_cost<1, 3, 1>);
}

template <class T>
Var<T> cos(Var<T> a) {
  // C = cos(A)   =>   dA -= sin(A) ∘ dC   (cost: n, backward 3n reading dC, A)
  return detail::record_elementwise<T, detail::DCos>(
      a, "cos", [](OpContext<T>& c) { vec_forward<T>(c, detail::vec::cos); },
      [](OpContext<T>& c) { add_vec_grad(c, detail::vec::sin, T(-1)); }, T(0), detail::unary_cost<1, 3, 1>);
}

template <class T>
Var<T> log1p(Var<T> a) {
  // C = log(1 + A)   =>   dA += dC / (1 + A)   (cost: n, backward 3n reading dC, A)
  return detail::record_elementwise<T, detail::DLog1p>(
      a, "log1p", [](OpContext<T>& c) { vec_forward<T>(c, detail::vec::log1p); },
      [](OpContext<T>& c) { c.grad_in(0).array() += c.grad_out().array() / (T(1) + c.in(0).array()); }, T(0),
      detail::unary_cost<1, 3, 1>);
}

template <class T>
Var<T> expm1(Var<T> a) {
  // C = exp(A) - 1   =>   dA += (C + 1) ∘ dC   (cost: n, backward 3n reading dC, C)
  return detail::record_elementwise<T, detail::DExpm1>(
      a, "expm1", [](OpContext<T>& c) { vec_forward<T>(c, detail::vec::expm1); },
      [](OpContext<T>& c) { c.grad_in(0).array() += (c.out().array() + T(1)) * c.grad_out().array(); }, T(0),
      detail::unary_cost<1, 3, 1>);
}

template <class T>
Var<T> softplus(Var<T> a) {
  // C = log(1 + exp(A))   =>   dA += sigmoid(A) ∘ dC   (cost: n, backward 3n reading dC, A)
  return detail::record_elementwise<T, detail::DSoftplus>(
      a, "softplus", [](OpContext<T>& c) { vec_forward<T>(c, detail::vec::softplus); },
      [](OpContext<T>& c) { add_vec_grad(c, detail::vec::sigmoid); }, T(0), detail::unary_cost<1, 3, 1>);
}

template <class T>
Var<T> pow(Var<T> a, Var<T> b) {
  // C = A^B   =>   dA += B A^(B-1) ∘ dC,   dB += C log(A) ∘ dC   (0 where A = 0 and B >= 0, as PyTorch)
  // cost: n (pow) reading A, B; backward dA 5n (B - 1, pow, ∘ B, ∘ dC, +=) reading A, B, dC;
  // dB 6n (log, two ∘, +=, the two comparisons of the A = 0 test) reading A, B, C, dC
  static constexpr CostFn cost = [](const OpShapes& s, bool backward) -> OpCost {
    const double n = detail::out_size(s);
    if (!backward) return {n, 3 * n};
    const bool ga = s.needs_grad[0], gb = s.needs_grad[1];
    if (!ga && !gb) return {};
    return {(ga ? 5 : 0) * n + (gb ? 6 : 0) * n, (gb ? 4 : 3) * n + (ga ? 2 : 0) * n + (gb ? 2 : 0) * n};
  };
  Tape<T>& t = detail::same_tape("pow", a, b);
  if (a.rows() != b.rows() || a.cols() != b.cols())
    throw ShapeError("pow: the exponent's shape " + detail::shape_of(b) + " differs from the base's " +
                     detail::shape_of(a) + " (use pow(a, p) for a scalar exponent)");
  static constexpr OpDef<T> op{
      "pow_matrix", OpKind::custom,
      [](OpContext<T>& c) {
        detail::vec::pow(c.in(0).data(), c.in(1).data(), out_like_in(c), c.in(0).size());
      },
      [](OpContext<T>& c) {
        using Chunk = Eigen::Array<T, Eigen::Dynamic, 1>;
        constexpr Index kChunk = 256;
        T buf[kChunk];
        const T *x = c.in(0).data(), *p = c.in(1).data(), *y = c.out().data(), *dc = c.grad_out().data();
        const Index n = c.in(0).size();
        for (Index i = 0; i < n; i += kChunk) {
          const Index m = std::min(kChunk, n - i);
          const Eigen::Map<const Chunk> xs(x + i, m), ps(p + i, m), ys(y + i, m), ds(dc + i, m);
          Eigen::Map<Chunk> f(buf, m);
          if (c.needs_grad(0)) {
            f = ps - T(1);
            detail::vec::pow(x + i, buf, buf, m);
            Eigen::Map<Chunk>(c.grad_in(0).data() + i, m) += ps * f * ds;
          }
          if (c.needs_grad(1)) {
            detail::vec::log(x + i, buf, m);
            Eigen::Map<Chunk>(c.grad_in(1).data() + i, m) +=
                (xs == T(0) && ps >= T(0)).select(T(0), ys * f * ds);
          }
        }
      },
      cost, false,
      // Second order, f_a = B A^(B-1), f_b = C log A (0 where A = 0 and B >= 0, as the backward):
      //   Ċ = f_a Ȧ + f_b Ḃ;   dȦ += f_a Ġ + (f_aa Ȧ + f_ab Ḃ) G,   dḂ += f_b Ġ + (f_ab Ȧ + f_bb Ḃ) G
      // with f_aa = B (B-1) A^(B-2), f_ab = A^(B-1) (1 + B log A), f_bb = C log² A.
      [](OpContext<T>& c) {
        const T *x = c.in(0).data(), *p = c.in(1).data(), *y = c.out().data();
        const T *tx = c.tangent_in(0).data(), *tp = c.tangent_in(1).data();
        T* t = c.tangent_out().data();
        for (Index i = 0; i < c.out().size(); ++i) {
          const T lg = x[i] == T(0) && p[i] >= T(0) ? T(0) : std::log(x[i]);
          t[i] = (p[i] == T(0) ? T(0) : p[i] * std::pow(x[i], p[i] - T(1))) * tx[i] + y[i] * lg * tp[i];
        }
      },
      [](OpContext<T>& c) {
        const T *x = c.in(0).data(), *p = c.in(1).data(), *y = c.out().data();
        const T *tx = c.tangent_in(0).data(), *tp = c.tangent_in(1).data();
        const T *g = c.grad_out().data(), *dg = c.grad_out_tangent().data();
        for (Index i = 0; i < c.out().size(); ++i) {
          const bool zero_log = x[i] == T(0) && p[i] >= T(0);
          const T lg = zero_log ? T(0) : std::log(x[i]);
          const T fa = p[i] == T(0) ? T(0) : p[i] * std::pow(x[i], p[i] - T(1));
          const T faa =
              p[i] == T(0) || p[i] == T(1) ? T(0) : p[i] * (p[i] - T(1)) * std::pow(x[i], p[i] - T(2));
          const T fab = zero_log ? T(0) : std::pow(x[i], p[i] - T(1)) * (T(1) + p[i] * lg);
          const T fb = y[i] * lg, fbb = y[i] * lg * lg;
          if (c.needs_grad(0))
            c.grad_in_tangent(0).data()[i] += fa * dg[i] + (faa * tx[i] + fab * tp[i]) * g[i];
          if (c.needs_grad(1))
            c.grad_in_tangent(1).data()[i] += fb * dg[i] + (fab * tx[i] + fbb * tp[i]) * g[i];
        }
      }};
  return t.record(op, {a, b}, a.rows(), a.cols());
}

namespace detail {

// act(A + B) in one node, B (or A) broadcasting like add (a bias): the activation runs in place on the sum,
// and backward forms G = act'(C) ∘ dC a 256-entry chunk at a time on the stack (no buffer, no allocation):
//   C = act(A + B)   =>   dA += G,   dB += G   (summed over broadcast dimensions)
// with act'(C) = 1 - C² (tanh), C (1 - C) (sigmoid), [C > 0] (relu): the same derivatives as the two ops.
// Cost: forward 2n (add, act); backward G 3n (tanh, sigmoid) or 2n (relu) reading C and dC, then n adds per
// input with a gradient (a sum when it broadcasts).
template <OpKind Act>
OpCost add_activation_cost(const OpShapes& s, bool backward) {
  const double n = out_size(s);
  if (!backward) return {2 * n, in_size(s, 0) + in_size(s, 1) + n};
  OpCost c{(Act == OpKind::relu ? 2 : 3) * n, 2 * n};
  for (int k = 0; k < 2; ++k) {
    if (s.needs_grad[k]) c = {c.flops + n, c.elements + 2 * in_size(s, k)};
  }
  return c;
}
template <class T, OpKind Act>
void add_activation_forward(OpContext<T>& c) {
  binary_forward(c, [](T x, T y) { return x + y; });
  T* o = c.out().data();
  if constexpr (Act == OpKind::tanh)
    vec::tanh(o, o, c.out().size());
  else if constexpr (Act == OpKind::sigmoid)
    vec::sigmoid(o, o, c.out().size());
  else
    c.out() = c.out().array().max(T(0));
}

template <class T, OpKind Act>
void add_activation_backward(OpContext<T>& c) {
  constexpr Index kChunk = 256;
  alignas(64) T buffer[kChunk];
  const auto &out = c.out(), &dc = c.grad_out();
  const Index rows = out.rows(), cols = out.cols();
  for (Index j = 0; j < cols; ++j) {
    for (Index i0 = 0; i0 < rows; i0 += kChunk) {
      const Index len = std::min(kChunk, rows - i0);
      Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>> g(buffer, len);
      const auto o = out.col(j).segment(i0, len).array();
      const auto d = dc.col(j).segment(i0, len).array();
      if constexpr (Act == OpKind::tanh)
        g = (T(1) - o.square()) * d;
      else if constexpr (Act == OpKind::sigmoid)
        g = o * (T(1) - o) * d;
      else
        g = (o > T(0)).select(d, T(0));
      for (int k = 0; k < 2; ++k) {
        if (!c.needs_grad(k)) continue;
        auto& gk = c.grad_in(k);
        const Index jk = gk.cols() == 1 ? 0 : j;
        if (gk.rows() == rows)
          gk.col(jk).segment(i0, len).array() += g;
        else
          gk(0, jk) += g.sum();
      }
    }
  }
}

// Second order, Z = A + B (broadcast), C = act(Z), act' and act'' from C as in the backward:
//   Ċ = act'(C) Ż,  Ż = Ȧ + Ḃ;   the backward dA += act'(C) G has the tangent
//   dȦ += act'(C) Ġ + act''(C) Ż G   (and dḂ the same; summed over broadcast dimensions)
// with act'' = -2C (1 - C²) (tanh), C (1 - C)(1 - 2C) (sigmoid), 0 (relu).
template <OpKind Act>
struct DAct {
  template <class T>
  static T d1(T o) {
    if constexpr (Act == OpKind::tanh)
      return T(1) - o * o;
    else if constexpr (Act == OpKind::sigmoid)
      return o * (T(1) - o);
    else
      return o > T(0) ? T(1) : T(0);
  }
  template <class T>
  static T d2(T o) {
    if constexpr (Act == OpKind::tanh)
      return T(-2) * o * (T(1) - o * o);
    else if constexpr (Act == OpKind::sigmoid)
      return o * (T(1) - o) * (T(1) - T(2) * o);
    else
      return T(0);
  }
};
template <class T, OpKind Act>
void add_activation_tangent(OpContext<T>& c) {
  const auto &o = c.out(), &ta = c.tangent_in(0), &tb = c.tangent_in(1);
  auto& t = c.tangent_out();
  for (Index j = 0; j < o.cols(); ++j)
    for (Index i = 0; i < o.rows(); ++i)
      t(i, j) = DAct<Act>::d1(o(i, j)) * (broadcast_at(ta, i, j) + broadcast_at(tb, i, j));
}
template <class T, OpKind Act>
void add_activation_tangent_backward(OpContext<T>& c) {
  const auto &o = c.out(), &ta = c.tangent_in(0), &tb = c.tangent_in(1);
  const auto &g = c.grad_out(), &dg = c.grad_out_tangent();
  for (Index j = 0; j < o.cols(); ++j) {
    for (Index i = 0; i < o.rows(); ++i) {
      const T z = broadcast_at(ta, i, j) + broadcast_at(tb, i, j);
      const T h = DAct<Act>::d1(o(i, j)) * dg(i, j) + DAct<Act>::d2(o(i, j)) * z * g(i, j);
      for (int k = 0; k < 2; ++k)
        if (c.needs_grad(k)) broadcast_at(c.grad_in_tangent(k), i, j) += h;
    }
  }
}

template <class T>
const OpDef<T>& add_activation_op(OpKind act) {
  static constexpr OpDef<T> ops[3] = {
      {"add_tanh", OpKind::custom, add_activation_forward<T, OpKind::tanh>,
       add_activation_backward<T, OpKind::tanh>, add_activation_cost<OpKind::tanh>, false,
       add_activation_tangent<T, OpKind::tanh>, add_activation_tangent_backward<T, OpKind::tanh>},
      {"add_sigmoid", OpKind::custom, add_activation_forward<T, OpKind::sigmoid>,
       add_activation_backward<T, OpKind::sigmoid>, add_activation_cost<OpKind::sigmoid>, false,
       add_activation_tangent<T, OpKind::sigmoid>, add_activation_tangent_backward<T, OpKind::sigmoid>},
      {"add_relu", OpKind::custom, add_activation_forward<T, OpKind::relu>,
       add_activation_backward<T, OpKind::relu>, add_activation_cost<OpKind::relu>, false,
       add_activation_tangent<T, OpKind::relu>, add_activation_tangent_backward<T, OpKind::relu>}};
  return ops[act == OpKind::tanh ? 0 : act == OpKind::sigmoid ? 1 : 2];
}

}  // namespace detail

// clang-format off
#define TAPEGRAD_UNARY_OPS(X) \
  X(square) X(exp) X(log) X(sqrt) X(abs) X(relu) X(tanh) X(sigmoid) X(sin) X(cos) X(log1p) X(expm1) \
  X(softplus)
// clang-format on
TAPEGRAD_UNARY_OPS(TAPEGRAD_INSTANTIATE_UNARY)
#define TAPEGRAD_INSTANTIATE(T)           \
  template Var<T> pow<T>(Var<T>, T);      \
  template Var<T> pow<T>(Var<T>, Var<T>); \
  template const OpDef<T>& detail::add_activation_op<T>(OpKind);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace tapegrad
