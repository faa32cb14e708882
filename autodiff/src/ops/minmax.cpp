// Maximum and minimum: of two matrices elementwise, of all entries, of each row or column; and clamp.
// Gradients at ties follow PyTorch 1.13: split evenly between two equal operands (maximum, minimum) and among
// the equal maxima of a full reduction (max, min); to the first maximal entry of a row or column (what
// torch.max(a, dim) returns as its index).
#include <cmath>
#include <stdexcept>
#include <string>

#include "costs.hpp"
#include "op_support.hpp"

namespace tapegrad {

namespace {

// maximum's and minimum's cost: n comparisons reading A, B; backward per input with a gradient 2n (the
// comparison, +=; ties counted as plain entries), reading dC, A and B once, the gradient read and written.
OpCost elementwise_extreme_cost(const OpShapes& s, bool backward) {
  const double n = detail::out_size(s);
  if (!backward) return {n, 3 * n};
  const double g = (s.needs_grad[0] ? 1 : 0) + (s.needs_grad[1] ? 1 : 0);
  if (g == 0) return {};
  return {2 * g * n, 3 * n + 2 * g * n};
}

// max's and min's cost over a entries: a comparisons; backward 2a + 2 (the tie test twice per entry, dc / k,
// one += for a single extreme; k ties add k - 1 more), reading A and dc, the gradient read and written.
OpCost full_extreme_cost(const OpShapes& s, bool backward) {
  const double a = detail::in_size(s, 0);
  return backward ? OpCost{2 * a + 2, 3 * a + 1} : OpCost{a, a + 1};
}

// rowwise_max's (and the others') cost, A a entries into n outputs: a - n comparisons (each row's first entry
// starts it); backward the same comparisons to find the entry again, and n adds, reading A and dc, n gradient
// entries read and written.
OpCost directional_extreme_cost(const OpShapes& s, bool backward) {
  const double a = detail::in_size(s, 0), n = detail::out_size(s);
  return backward ? OpCost{a, a + 3 * n} : OpCost{a - n, a + n};
}

// Greater for max (Sign = 1), less for min (Sign = -1); a NaN always wins, so that NaN propagates.
template <int Sign, class T>
bool better(T v, T best) {
  if (std::isnan(best)) return false;
  if (std::isnan(v)) return true;
  return Sign > 0 ? v > best : v < best;
}

// dX += the share of g that maximum (Sign = 1) or minimum gives its operand X = x against the other one, y:
// all of g where x wins, half at a tie, none where it loses (or either is NaN). The backward adds it with
// g = dC, the tangent backward with Ġ (the op is piecewise linear: no second-derivative term).
template <int Sign, class T>
void add_extreme_share(const Matrix<T>& x, const Matrix<T>& y, const Matrix<T>& g, Matrix<T>& dx) {
  const auto a = x.array(), b = y.array();
  const auto wins = Sign > 0 ? (a > b) : (a < b);
  dx.array() += wins.select(g.array(), (a == b).select(g.array() / T(2), T(0)));
}

template <class T, int Sign>
Var<T> elementwise_extreme(const char* name, const Var<T>& a, const Var<T>& b) {
  // C = max(A, B)   =>   dA += [A > B] dC + [A = B] dC / 2,   dB likewise   (min: with < )
  Tape<T>& t = detail::same_tape(name, a, b);
  if (a.rows() != b.rows() || a.cols() != b.cols())
    throw ShapeError(std::string(name) + ": shapes " + detail::shape_of(a) + " and " + detail::shape_of(b) +
                     " differ");
  static constexpr OpDef<T> op{Sign > 0 ? "maximum" : "minimum", OpKind::custom,
                               [](OpContext<T>& c) {
                                 if constexpr (Sign > 0)
                                   c.out() = c.in(0).array().max(c.in(1).array());
                                 else
                                   c.out() = c.in(0).array().min(c.in(1).array());
                               },
                               [](OpContext<T>& c) {
                                 if (c.needs_grad(0))
                                   add_extreme_share<Sign>(c.in(0), c.in(1), c.grad_out(), c.grad_in(0));
                                 if (c.needs_grad(1))
                                   add_extreme_share<Sign>(c.in(1), c.in(0), c.grad_out(), c.grad_in(1));
                               },
                               elementwise_extreme_cost, false,
                               // Piecewise linear (second derivative 0): Ċ = w_A Ȧ + w_B Ḃ with the
                               // backward's weights (1, 0 or 1/2 at a tie);   dȦ += w_A Ġ,   dḂ += w_B Ġ
                               [](OpContext<T>& c) {
                                 const auto a = c.in(0).array(), b = c.in(1).array();
                                 const auto ta = c.tangent_in(0).array(), tb = c.tangent_in(1).array();
                                 const auto wins = Sign > 0 ? (a > b) : (a < b);
                                 const auto loses = Sign > 0 ? (a < b) : (a > b);
                                 c.tangent_out().array() =
                                     wins.select(ta, loses.select(tb, (ta + tb) / T(2)));
                               },
                               [](OpContext<T>& c) {
                                 const auto& dg = c.grad_out_tangent();
                                 if (c.needs_grad(0))
                                   add_extreme_share<Sign>(c.in(0), c.in(1), dg, c.grad_in_tangent(0));
                                 if (c.needs_grad(1))
                                   add_extreme_share<Sign>(c.in(1), c.in(0), dg, c.grad_in_tangent(1));
                               }};
  return t.record(op, {a, b}, a.rows(), a.cols());
}

// Whether v is the extreme m that max or min found (when m is NaN: any NaN).
template <class T>
bool is_extreme(T v, T m) {
  return std::isnan(m) ? std::isnan(v) : v == m;
}

// dX += d / k at each of the k entries of x equal to the extreme m: max's and min's backward with d = dc, and
// their tangent backward with its tangent (piecewise linear).
template <class T>
void add_split_among_extremes(const Matrix<T>& x, T m, T d, Matrix<T>& dx) {
  Index k = 0;
  for (Index i = 0; i < x.size(); ++i) k += is_extreme(x(i), m) ? 1 : 0;
  const T share = d / T(k);
  for (Index i = 0; i < x.size(); ++i)
    if (is_extreme(x(i), m)) dx(i) += share;
}

template <class T, int Sign>
Var<T> full_extreme(const char* name, const Var<T>& a) {
  // c = max A   =>   dA_ij += dc / k for the k entries equal to c
  if (a.rows() * a.cols() == 0)
    throw ShapeError(std::string(name) + ": an empty " + detail::shape_of(a) + " matrix has no " + name);
  static constexpr OpDef<T> op{
      Sign > 0 ? "max" : "min", OpKind::custom,
      [](OpContext<T>& c) {
        const auto& x = c.in(0);
        T best = x(0);
        for (Index i = 1; i < x.size(); ++i)
          if (better<Sign>(x(i), best)) best = x(i);
        c.out()(0, 0) = best;
      },
      [](OpContext<T>& c) {
        // The entries equal to the extreme (NaN: the NaNs) share dc evenly.
        add_split_among_extremes(c.in(0), c.out()(0, 0), c.grad_out()(0, 0), c.grad_in(0));
      },
      full_extreme_cost, false,
      // Piecewise linear: ċ = the mean of Ȧ over the k extreme entries;
      // dȦ_ij += ċ̄ / k there, with Ġ for G
      [](OpContext<T>& c) {
        const T m = c.out()(0, 0);
        const auto& x = c.in(0);
        Index k = 0;
        T sum = T(0);
        for (Index i = 0; i < x.size(); ++i)
          if (is_extreme(x(i), m)) ++k, sum += c.tangent_in(0)(i);
        c.tangent_out()(0, 0) = sum / T(k);
      },
      [](OpContext<T>& c) {
        add_split_among_extremes(c.in(0), c.out()(0, 0), c.grad_out_tangent()(0, 0), c.grad_in_tangent(0));
      }};
  return a.tape().record(op, {a}, 1, 1);
}

// The index of the first extreme entry of x(i, .) (Rows) or x(., i), in the reduced direction.
template <int Sign, bool Rows, class T>
Index arg_extreme(const Matrix<T>& x, Index i) {
  const Index n = Rows ? x.cols() : x.rows();
  Index at = 0;
  T best = Rows ? x(i, 0) : x(0, i);
  for (Index j = 1; j < n; ++j) {
    const T v = Rows ? x(i, j) : x(j, i);
    if (better<Sign>(v, best)) best = v, at = j;
  }
  return at;
}

// For each row i (Rows; else each column): dst's entry i = src's entry at x's first extreme entry of that
// row, the forward with src = x and the tangent with src = Ȧ (piecewise linear); and dX's entry there += g's
// entry i, the backward with g = dc and the tangent backward with Ġ.
template <int Sign, bool Rows, class T>
void take_at_extremes(const Matrix<T>& x, const Matrix<T>& src, Matrix<T>& dst) {
  const Index n = Rows ? x.rows() : x.cols();
  for (Index i = 0; i < n; ++i) {
    const Index j = arg_extreme<Sign, Rows>(x, i);
    dst(Rows ? i : 0, Rows ? 0 : i) = Rows ? src(i, j) : src(j, i);
  }
}
template <int Sign, bool Rows, class T>
void add_at_extremes(const Matrix<T>& x, const Matrix<T>& g, Matrix<T>& dx) {
  const Index n = Rows ? x.rows() : x.cols();
  for (Index i = 0; i < n; ++i) {
    const Index j = arg_extreme<Sign, Rows>(x, i);
    (Rows ? dx(i, j) : dx(j, i)) += g(Rows ? i : 0, Rows ? 0 : i);
  }
}

template <class T, int Sign, bool Rows>
Var<T> directional_extreme(const char* name, const Var<T>& a) {
  // c_i = max_j A_ij   =>   dA_{i, j*} += dc_i with j* the first j where A_ij = c_i   (columns likewise)
  if (Rows ? a.cols() == 0 : a.rows() == 0)
    throw ShapeError(std::string(name) + ": " + detail::shape_of(a) + " has an empty " +
                     (Rows ? "row" : "column"));
  static constexpr OpDef<T> op{
      Sign > 0 ? (Rows ? "rowwise_max" : "colwise_max") : (Rows ? "rowwise_min" : "colwise_min"),
      OpKind::custom, [](OpContext<T>& c) { take_at_extremes<Sign, Rows>(c.in(0), c.in(0), c.out()); },
      [](OpContext<T>& c) { add_at_extremes<Sign, Rows>(c.in(0), c.grad_out(), c.grad_in(0)); },
      directional_extreme_cost, false,
      // Piecewise linear: ċ_i = Ȧ at the first extreme entry;   dȦ there += Ġ_i
      [](OpContext<T>& c) { take_at_extremes<Sign, Rows>(c.in(0), c.tangent_in(0), c.tangent_out()); },
      [](OpContext<T>& c) {
        add_at_extremes<Sign, Rows>(c.in(0), c.grad_out_tangent(), c.grad_in_tangent(0));
      }};
  return a.tape().record(op, {a}, Rows ? a.rows() : 1, Rows ? 1 : a.cols());
}

}  // namespace

template <class T>
Var<T> maximum(Var<T> a, Var<T> b) {
  return elementwise_extreme<T, 1>("maximum", a, b);
}
template <class T>
Var<T> minimum(Var<T> a, Var<T> b) {
  return elementwise_extreme<T, -1>("minimum", a, b);
}
template <class T>
Var<T> max(Var<T> a) {
  return full_extreme<T, 1>("max", a);
}
template <class T>
Var<T> min(Var<T> a) {
  return full_extreme<T, -1>("min", a);
}
template <class T>
Var<T> rowwise_max(Var<T> a) {
  return directional_extreme<T, 1, true>("rowwise_max", a);
}
template <class T>
Var<T> colwise_max(Var<T> a) {
  return directional_extreme<T, 1, false>("colwise_max", a);
}
template <class T>
Var<T> rowwise_min(Var<T> a) {
  return directional_extreme<T, -1, true>("rowwise_min", a);
}
template <class T>
Var<T> colwise_min(Var<T> a) {
  return directional_extreme<T, -1, false>("colwise_min", a);
}

template <class T>
Var<T> clamp(Var<T> a, T lo, T hi) {
  // C = min(max(A, lo), hi)   =>   dA += [lo <= A <= hi] dC   (cost: 2n, backward 3n reading dC, A)
  if (!(lo <= hi))
    throw std::invalid_argument("clamp: the lower bound " + std::to_string(lo) +
                                " is not at most the upper bound " + std::to_string(hi));
  Tape<T>& t = a.tape();
  t.check(a, "clamp");
  // The bounds are the node's parameters 0 and 1.
  static constexpr OpDef<T> op{
      "clamp", OpKind::custom,
      [](OpContext<T>& c) { c.out() = c.in(0).array().max(c.param(0)).min(c.param(1)); },
      [](OpContext<T>& c) {
        if (!c.needs_grad(0)) return;
        const T l = c.param(0), h = c.param(1);
        const auto x = c.in(0).array();
        c.grad_in(0).array() += (x >= l && x <= h).select(c.grad_out().array(), T(0));
      },
      detail::unary_cost<2, 3, 1>, false,
      // Piecewise linear: Ċ = [lo <= A <= hi] Ȧ,   dȦ += [lo <= A <= hi] Ġ   (the bounds are constants)
      [](OpContext<T>& c) {
        const T l = c.param(0), h = c.param(1);
        const auto x = c.in(0).array();
        c.tangent_out().array() = (x >= l && x <= h).select(c.tangent_in(0).array(), T(0));
      },
      [](OpContext<T>& c) {
        if (!c.needs_grad(0)) return;
        const T l = c.param(0), h = c.param(1);
        const auto x = c.in(0).array();
        c.grad_in_tangent(0).array() += (x >= l && x <= h).select(c.grad_out_tangent().array(), T(0));
      }};
  OpParams<T> bounds;
  bounds.values = {lo, hi, T(0), T(0)};
  return t.record(op, {a}, a.rows(), a.cols(), T(0), 0, bounds);
}

#define TAPEGRAD_UNARY_OPS(X) X(max) X(min) X(rowwise_max) X(colwise_max) X(rowwise_min) X(colwise_min)
TAPEGRAD_UNARY_OPS(TAPEGRAD_INSTANTIATE_UNARY)
#define TAPEGRAD_INSTANTIATE(T)               \
  template Var<T> maximum<T>(Var<T>, Var<T>); \
  template Var<T> minimum<T>(Var<T>, Var<T>); \
  template Var<T> clamp<T>(Var<T>, T, T);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace tapegrad
