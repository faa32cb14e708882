// add, sub, mul, div (with 2-D broadcasting), neg, and the scalar forms.
#include <type_traits>

#include "costs.hpp"
#include "op_support.hpp"
#include "second_order.hpp"

namespace tapegrad {

using detail::binary_forward;
using detail::broadcast_at;
using detail::same_shape;
using detail::shape_of;

namespace {

// Broadcast result extent of one dimension, or -1 if the two do not broadcast.
Index broadcast_dim(Index x, Index y) { return x == y ? x : x == 1 ? y : y == 1 ? x : -1; }

template <class T>
std::pair<Index, Index> broadcast_shape(const char* op, const Var<T>& a, const Var<T>& b) {
  const Index r = broadcast_dim(a.rows(), b.rows()), c = broadcast_dim(a.cols(), b.cols());
  if (r < 0 || c < 0) {
    throw ShapeError(std::string(op) + ": shapes " + shape_of(a) + " and " + shape_of(b) +
                     " do not broadcast (each dimension must match or be 1)");
  }
  return {r, c};
}

// grad_in(k)(i, j) += dfk(a, b, dC)(i, j), summed over the broadcast dimensions of input k.
template <class T, class Fa, class Fb>
void binary_backward(OpContext<T>& c, Fa da, Fb db) {
  const auto &a = c.in(0), &b = c.in(1), &g = c.grad_out();
  for (int k = 0; k < 2; ++k) {
    if (!c.needs_grad(k)) continue;
    auto& gk = c.grad_in(k);
    const bool plain = same_shape(gk, g);
    for (Index j = 0; j < g.cols(); ++j) {
      for (Index i = 0; i < g.rows(); ++i) {
        const T x = broadcast_at(a, i, j), y = broadcast_at(b, i, j);
        const T d = k == 0 ? da(x, y, g(i, j)) : db(x, y, g(i, j));
        if (plain)
          gk(i, j) += d;
        else
          broadcast_at(gk, i, j) += d;
      }
    }
  }
}

// The partial derivatives of f(x, y) at one point: f_x, f_y; f_xx, f_xy, f_yy.
template <class T>
struct Partials {
  T a, b, aa, ab, bb;
};

// Second order of C = f(A, B) entrywise with broadcasting, D::at(x, y) giving f's partial derivatives at (x,
// y) = (A, B) entries: Ċ = f_a Ȧ + f_b Ḃ; the backward dA += f_a G (summed over broadcast dimensions) has the
// tangent dȦ += f_a Ġ + (f_aa Ȧ + f_ab Ḃ) G, and dḂ += f_b Ġ + (f_ab Ȧ + f_bb Ḃ) G.
template <class T, class D>
void binary_tangent(OpContext<T>& c) {
  const auto &a = c.in(0), &b = c.in(1), &ta = c.tangent_in(0), &tb = c.tangent_in(1);
  auto& t = c.tangent_out();
  for (Index j = 0; j < t.cols(); ++j) {
    for (Index i = 0; i < t.rows(); ++i) {
      const Partials<T> d = D::at(broadcast_at(a, i, j), broadcast_at(b, i, j));
      t(i, j) = d.a * broadcast_at(ta, i, j) + d.b * broadcast_at(tb, i, j);
    }
  }
}
template <class T, class D>
void binary_tangent_backward(OpContext<T>& c) {
  const auto &a = c.in(0), &b = c.in(1), &ta = c.tangent_in(0), &tb = c.tangent_in(1);
  const auto &g = c.grad_out(), &dg = c.grad_out_tangent();
  const bool n0 = c.needs_grad(0), n1 = c.needs_grad(1);
  for (Index j = 0; j < g.cols(); ++j) {
    for (Index i = 0; i < g.rows(); ++i) {
      const Partials<T> d = D::at(broadcast_at(a, i, j), broadcast_at(b, i, j));
      const T dx = broadcast_at(ta, i, j), dy = broadcast_at(tb, i, j);
      if (n0) broadcast_at(c.grad_in_tangent(0), i, j) += d.a * dg(i, j) + (d.aa * dx + d.ab * dy) * g(i, j);
      if (n1) broadcast_at(c.grad_in_tangent(1), i, j) += d.b * dg(i, j) + (d.ab * dx + d.bb * dy) * g(i, j);
    }
  }
}
// The partial derivatives of each binary op: f_x, f_y; f_xx, f_xy, f_yy.
struct DAdd {  // x + y: 1, 1; 0, 0, 0
  template <class T>
  static Partials<T> at(T, T) {
    return {T(1), T(1), T(0), T(0), T(0)};
  }
};
struct DSub {  // x - y: 1, -1; 0, 0, 0
  template <class T>
  static Partials<T> at(T, T) {
    return {T(1), T(-1), T(0), T(0), T(0)};
  }
};
struct DMul {  // x y: y, x; 0, 1, 0
  template <class T>
  static Partials<T> at(T x, T y) {
    return {y, x, T(0), T(1), T(0)};
  }
};
struct DDiv {  // x / y: 1/y, -x/y²; 0, -1/y², 2x/y³
  template <class T>
  static Partials<T> at(T x, T y) {
    return {T(1) / y, -x / (y * y), T(0), -T(1) / (y * y), T(2) * x / (y * y * y)};
  }
};

// add's and sub's cost: n adds (n = output entries); backward n adds per input with a gradient (a sum when it
// broadcasts).
inline OpCost add_sub_cost(const OpShapes& s, bool backward) {
  const double n = detail::out_size(s);
  if (!backward) return {n, detail::in_size(s, 0) + detail::in_size(s, 1) + n};
  OpCost c;
  for (int k = 0; k < 2; ++k) {
    if (s.needs_grad[k]) c = {c.flops + n, c.elements + n + 2 * detail::in_size(s, k)};
  }
  return c;
}

// mul's and div's cost: n operations (n = output entries) reading A and B; backward for dA 2n (dC ∘ B or
// dC / B, +=) reading dC and B, the gradient read and written; for dB DbFlops n (mul: dC ∘ A, +=; div: also
// / B², -=) reading dC and A, and B DbReads times counting the gradient's read and write (div reads B too).
template <int DbFlops, int DbReads>
OpCost product_cost(const OpShapes& s, bool backward) {
  const double n = detail::out_size(s), a = detail::in_size(s, 0), b = detail::in_size(s, 1);
  if (!backward) return {n, a + b + n};
  OpCost c;
  if (s.needs_grad[0]) c = {c.flops + 2 * n, c.elements + n + b + 2 * a};
  if (s.needs_grad[1]) c = {c.flops + DbFlops * n, c.elements + n + a + DbReads * b};
  return c;
}

// C = f(A, B) for add and sub: one Eigen expression f(A, B) when the shapes match, else binary_forward's
// broadcasting loops over f(x, y) for each entry.
template <class T, class F>
void add_sub_forward(OpContext<T>& c, F f) {
  if (same_shape(c.in(0), c.in(1)))
    c.out().noalias() = f(c.in(0), c.in(1));
  else
    binary_forward(c, [f](T x, T y) { return f(x, y); });
}

// Records the broadcasting binary op `name`(a, b) with the second-order rules of D (binary_tangent).
template <class T, class D>
Var<T> record_binary(const char* name, OpKind kind, const Var<T>& a, const Var<T>& b, ForwardFn<T> forward,
                     BackwardFn<T> backward, CostFn cost, bool first_write) {
  Tape<T>& t = detail::same_tape(name, a, b);
  auto [r, cols] = broadcast_shape(name, a, b);
  return t.record(OpDef<T>{name, kind, forward, backward, cost, first_write, binary_tangent<T, D>,
                           binary_tangent_backward<T, D>},
                  {a, b}, r, cols);
}

}  // namespace

template <class T>
Var<T> add(Var<T> a, Var<T> b) {
  // C = A + B   =>   dA += dC,   dB += dC   (summed over broadcast dimensions)
  return record_binary<T, DAdd>(
      "add", OpKind::add, a, b,
      [](OpContext<T>& c) { add_sub_forward(c, [](const auto& x, const auto& y) { return x + y; }); },
      [](OpContext<T>& c) {
        for (int k = 0; k < 2; ++k) {
          if (!c.needs_grad(k)) continue;
          auto& gk = c.grad_in(k);
          if (same_shape(gk, c.grad_out()))
            c.add_to_grad(k, c.grad_out());
          else if (gk.rows() == 1 && gk.cols() == 1)
            gk(0, 0) = (c.first(k) ? T(0) : gk(0, 0)) + c.grad_out().sum();
          else if (gk.rows() == 1)
            c.add_to_grad(k, c.grad_out().colwise().sum());
          else
            c.add_to_grad(k, c.grad_out().rowwise().sum());
        }
      },
      add_sub_cost, true);
}

template <class T>
Var<T> sub(Var<T> a, Var<T> b) {
  // C = A - B   =>   dA += dC,   dB -= dC
  return record_binary<T, DSub>(
      "sub", OpKind::sub, a, b,
      [](OpContext<T>& c) { add_sub_forward(c, [](const auto& x, const auto& y) { return x - y; }); },
      [](OpContext<T>& c) {
        binary_backward(
            c, [](T, T, T g) { return g; }, [](T, T, T g) { return -g; });
      },
      add_sub_cost, false);
}

template <class T>
Var<T> mul(Var<T> a, Var<T> b) {
  // C = A ∘ B   =>   dA += dC ∘ B,   dB += dC ∘ A   (cost: product_cost, dB 2n reading B twice)
  return record_binary<T, DMul>(
      "mul", OpKind::mul, a, b, [](OpContext<T>& c) { binary_forward(c, [](T x, T y) { return x * y; }); },
      [](OpContext<T>& c) {
        binary_backward(
            c, [](T, T y, T g) { return g * y; }, [](T x, T, T g) { return g * x; });
      },
      product_cost<2, 2>, false);
}

template <class T>
Var<T> div(Var<T> a, Var<T> b) {
  // C = A / B   =>   dA += dC / B,   dB -= dC ∘ A / B²   (cost: product_cost, dB 4n reading B three times)
  return record_binary<T, DDiv>(
      "div", OpKind::custom, a, b, [](OpContext<T>& c) { binary_forward(c, [](T x, T y) { return x / y; }); },
      [](OpContext<T>& c) {
        binary_backward(
            c, [](T, T y, T g) { return g / y; }, [](T x, T y, T g) { return -g * x / (y * y); });
      },
      product_cost<4, 3>, false);
}

template <class T>
Var<T> neg(Var<T> a) {
  // C = -A   =>   dA -= dC   (cost: n, backward n)
  return detail::record_elementwise<T, detail::DNeg>(
      a, "neg", [](OpContext<T>& c) { c.out() = -c.in(0); },
      [](OpContext<T>& c) { c.grad_in(0) -= c.grad_out(); }, T(0), detail::unary_cost<1, 1, 0>, OpKind::neg);
}

template <class T>
Var<T> add(Var<T> a, T s) {
  // C = A + s   =>   dA += dC   (cost: n, backward n)
  return detail::record_elementwise<T, detail::DShift>(
      a, "add_scalar", [](OpContext<T>& c) { c.out() = c.in(0).array() + c.scalar(); },
      [](OpContext<T>& c) { c.grad_in(0) += c.grad_out(); }, s, detail::unary_cost<1, 1, 0>);
}

template <class T>
Var<T> mul(Var<T> a, T s) {
  // C = s A   =>   dA += s dC   (cost: n, backward 2n)
  static constexpr OpDef<T> op{"mul_scalar",
                               OpKind::custom,
                               [](OpContext<T>& c) { c.out() = c.scalar() * c.in(0); },
                               [](OpContext<T>& c) { c.add_to_grad(0, c.scalar() * c.grad_out()); },
                               detail::unary_cost<1, 2, 0>,
                               true,
                               detail::unary_tangent<T, detail::DScale>,
                               detail::unary_tangent_backward<T, detail::DScale>};
  return a.tape().record(op, {a}, a.rows(), a.cols(), s);
}

template <class T>
Var<T> sub(T s, Var<T> a) {
  // C = s - A   =>   dA -= dC   (cost: n, backward n)
  return detail::record_elementwise<T, detail::DNeg>(
      a, "rsub_scalar", [](OpContext<T>& c) { c.out() = (-c.in(0).array()) + c.scalar(); },
      [](OpContext<T>& c) { c.grad_in(0) -= c.grad_out(); }, s, detail::unary_cost<1, 1, 0>);
}

template <class T>
Var<T> div(T s, Var<T> a) {
  // C = s / A   =>   dA -= dC ∘ s / A² = dC ∘ C / A   (cost: n, backward 3n reading dC, C, A)
  return detail::record_elementwise<T, detail::DRecip>(
      a, "rdiv_scalar", [](OpContext<T>& c) { c.out() = c.scalar() / c.in(0).array(); },
      [](OpContext<T>& c) {
        c.grad_in(0).array() -= c.grad_out().array() * c.out().array() / c.in(0).array();
      },
      s, detail::unary_cost<1, 3, 2>);
}

#define TAPEGRAD_INSTANTIATE(T)           \
  template Var<T> add<T>(Var<T>, Var<T>); \
  template Var<T> sub<T>(Var<T>, Var<T>); \
  template Var<T> mul<T>(Var<T>, Var<T>); \
  template Var<T> div<T>(Var<T>, Var<T>); \
  template Var<T> neg<T>(Var<T>);         \
  template Var<T> add<T>(Var<T>, T);      \
  template Var<T> mul<T>(Var<T>, T);      \
  template Var<T> sub<T>(T, Var<T>);      \
  template Var<T> div<T>(T, Var<T>);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace tapegrad
