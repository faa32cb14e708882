// The ops PyTorch users reach for first (concatenation, slicing, indexing, reshape; max/min, clamp; softmax,
// logsumexp and the classification losses; sin, cos, log1p, expm1, softplus, pow with a matrix exponent):
// every gradient against central finite differences in double on 1x1, 1xn, nx1, square, tall, wide and long
// (several 256-entry chunks) inputs; float against double; PyTorch's documented behaviour at ties, kinks and
// extremes; the errors; and the graph optimizer's softmax rewrites.
#include <catch2/catch.hpp>
#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <string>

#include "tapegrad/autodiff.hpp"

using namespace tapegrad;
using M = Matrix<double>;

namespace {

struct Shape {
  Index r, c;
};
const std::vector<Shape> kShapes = {{1, 1}, {1, 4}, {4, 1}, {3, 3}, {5, 2}, {2, 5}, {300, 2}};

M random_matrix(Index r, Index c, std::uint64_t seed, double lo = -1.0, double hi = 1.0,
                bool signed_ = false) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  M m(r, c);
  for (Index j = 0; j < c; ++j)
    for (Index i = 0; i < r; ++i) m(i, j) = (signed_ && (rng() & 1) ? -1.0 : 1.0) * u(rng);
  return m;
}

template <class T>
using Fn = std::function<Var<T>(const std::vector<Var<T>>&)>;

// One op under test, written once for both types (the expression sees x[0], x[1]).
struct Case {
  std::string name;
  Fn<double> d;
  Fn<float> f;
  int inputs;
  double lo, hi;
  bool signed_;
};
#define CASE(name, n, lo, hi, sgn, expr)                                      \
  Case {                                                                      \
    name, [](const std::vector<Var<double>>& x) { return expr; },             \
        [](const std::vector<Var<float>>& x) { return expr; }, n, lo, hi, sgn \
  }

std::vector<Index> some_indices(Index n) { return {n - 1, 0, n / 2, n - 1}; }
std::vector<Index> some_labels(Index rows, Index classes) {
  std::vector<Index> y;
  for (Index i = 0; i < rows; ++i) y.push_back((i * 7 + 3) % classes);
  return y;
}

const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      CASE("cat dim 0", 2, -1, 1, false, cat(x[0], x[1], 0)),
      CASE("cat dim 1", 2, -1, 1, false, cat(x[0], x[1], 1)),
      CASE("cat of a node with itself", 1, -1, 1, false, cat(x[0], square(x[0]), 1)),
      CASE("narrow dim 0", 1, -1, 1, false, narrow(x[0], 0, x[0].rows() / 3, x[0].rows() - x[0].rows() / 3)),
      CASE("narrow dim 1", 1, -1, 1, false, narrow(x[0], 1, x[0].cols() / 2, (x[0].cols() + 1) / 2)),
      CASE("index_select dim 0 (repeats)", 1, -1, 1, false, index_select(x[0], 0, some_indices(x[0].rows()))),
      CASE("index_select dim 1 (repeats)", 1, -1, 1, false, index_select(x[0], 1, some_indices(x[0].cols()))),
      CASE("reshape transposed shape", 1, -1, 1, false, reshape(x[0], x[0].cols(), x[0].rows())),
      CASE("reshape to a row", 1, -1, 1, false, reshape(x[0], 1, x[0].rows() * x[0].cols())),
      CASE("maximum", 2, -1, 1, false, maximum(x[0], x[1])),
      CASE("minimum", 2, -1, 1, false, minimum(x[0], x[1])),
      CASE("max", 1, -1, 1, false, max(x[0])),
      CASE("min", 1, -1, 1, false, min(x[0])),
      CASE("rowwise_max", 1, -1, 1, false, rowwise_max(x[0])),
      CASE("colwise_max", 1, -1, 1, false, colwise_max(x[0])),
      CASE("rowwise_min", 1, -1, 1, false, rowwise_min(x[0])),
      CASE("colwise_min", 1, -1, 1, false, colwise_min(x[0])),
      CASE("clamp", 1, 0.05, 1, true,
           clamp(x[0], decltype(x[0].value()(0, 0))(-0.5), decltype(x[0].value()(0, 0))(0.55))),
      CASE("rowwise_softmax", 1, -3, 3, false, rowwise_softmax(x[0])),
      CASE("colwise_softmax", 1, -3, 3, false, colwise_softmax(x[0])),
      CASE("rowwise_log_softmax", 1, -3, 3, false, rowwise_log_softmax(x[0])),
      CASE("colwise_log_softmax", 1, -3, 3, false, colwise_log_softmax(x[0])),
      CASE("softmax dim 1", 1, -3, 3, false, softmax(x[0], 1)),
      CASE("log_softmax dim 0", 1, -3, 3, false, log_softmax(x[0], 0)),
      CASE("colwise_logsumexp", 1, -3, 3, false, colwise_logsumexp(x[0])),
      CASE("logsumexp", 1, -3, 3, false, logsumexp(x[0])),
      CASE("cross_entropy with labels", 1, -3, 3, false,
           cross_entropy(x[0], some_labels(x[0].rows(), x[0].cols()))),
      CASE("cross_entropy with target probabilities", 2, -3, 3, false,
           cross_entropy(x[0], rowwise_softmax(x[1]))),
      CASE("binary_cross_entropy_with_logits", 2, -3, 3, false,
           binary_cross_entropy_with_logits(x[0], sigmoid(x[1]))),
      CASE("sin", 1, -4, 4, false, sin(x[0])),
      CASE("cos", 1, -4, 4, false, cos(x[0])),
      CASE("log1p", 1, -0.8, 3, false, log1p(x[0])),
      CASE("expm1", 1, -2, 2, false, expm1(x[0])),
      CASE("softplus", 1, -6, 6, false, softplus(x[0])),
      CASE("pow with a matrix exponent", 2, 0.2, 2, false,
           pow(x[0], x[1] - decltype(x[0].value()(0, 0))(1.1))),
  };
  return all;
}

std::vector<M> inputs_for(const Case& k, Shape s, std::uint64_t seed) {
  std::vector<M> xs;
  for (int i = 0; i < k.inputs; ++i)
    xs.push_back(random_matrix(s.r, s.c, seed + 1000 * i, k.lo, k.hi, k.signed_));
  return xs;
}

// Value and input gradients of an op in T (a non-scalar output projected onto a fixed random matrix).
template <class T>
std::pair<Matrix<T>, std::vector<Matrix<T>>> evaluate(const Fn<T>& f, const std::vector<M>& xs,
                                                      bool optimize) {
  std::vector<Parameter<T>> ps;
  ps.reserve(xs.size());
  for (const auto& x : xs) ps.emplace_back(x.cast<T>());
  Tape<T> t;
  t.set_graph_optimization(optimize);
  std::vector<Var<T>> in;
  for (auto& p : ps) in.push_back(t.parameter(p));
  Var<T> out = f(in);
  t.backward(out, M(random_matrix(out.rows(), out.cols(), 77)).template cast<T>());
  std::vector<Matrix<T>> grads;
  for (auto& p : ps) grads.push_back(p.grad);
  return {out.value(), grads};
}

double rel_diff(const M& a, const M& b) {
  REQUIRE(a.rows() == b.rows());
  REQUIRE(a.cols() == b.cols());
  if (a.size() == 0) return 0;
  return (a - b).cwiseAbs().maxCoeff() / std::max(1.0, b.cwiseAbs().maxCoeff());
}

}  // namespace

TEST_CASE("new ops: gradients match finite differences on every shape", "[ops][gradcheck][new-ops]") {
  for (const Case& k : cases()) {
    std::uint64_t seed = 1;
    for (auto s : kShapes) {
      CAPTURE(k.name, s.r, s.c);
      // On 600 entries, the projected output is a sum of hundreds of terms: finite differences of it carry a
      // rounding error of about 1e-16 |f| / h, up to 5e-8 here, hence the larger absolute tolerance there.
      GradCheckOptions options;
      if (s.r * s.c > 100) options.atol = 2e-7;
      const auto res =
          check_gradients([&](Tape<double>&, const std::vector<Var<double>>& x) { return k.d(x); },
                          inputs_for(k, s, seed++), options);
      INFO(res.report());
      REQUIRE(res.checked > 0);
      CHECK(res.ok);
    }
  }
}

TEST_CASE("new ops: float gives double's values and gradients, optimizer on and off",
          "[ops][float][new-ops]") {
  for (const Case& k : cases()) {
    std::uint64_t seed = 50;
    for (auto s : {Shape{1, 1}, Shape{4, 3}, Shape{300, 2}}) {
      CAPTURE(k.name, s.r, s.c);
      const auto xs = inputs_for(k, s, seed++);
      const auto [vd, gd] = evaluate<double>(k.d, xs, false);
      for (bool optimize : {false, true}) {
        CAPTURE(optimize);
        const auto [vf, gf] = evaluate<float>(k.f, xs, optimize);
        CHECK(rel_diff(vf.cast<double>(), vd) <= 2e-5);
        for (std::size_t i = 0; i < gd.size(); ++i) CHECK(rel_diff(gf[i].cast<double>(), gd[i]) <= 2e-5);
      }
      const auto [vo, go] = evaluate<double>(k.d, xs, true);
      CHECK(rel_diff(vo, vd) <= 1e-14);
      for (std::size_t i = 0; i < gd.size(); ++i) CHECK(rel_diff(go[i], gd[i]) <= 1e-14);
    }
  }
}

TEST_CASE("new ops: values of the shaping ops", "[ops][new-ops]") {
  Tape<double> t;
  M a(2, 3), b(1, 3);
  a << 1, 2, 3, 4, 5, 6;
  b << 7, 8, 9;
  M v0(3, 3);
  v0 << 1, 2, 3, 4, 5, 6, 7, 8, 9;
  CHECK(cat(t.constant(a), t.constant(b), 0).value() == v0);
  M h(2, 4);
  h << 1, 2, 3, 7, 4, 5, 6, 8;
  CHECK(cat(t.constant(a), t.constant(M{{7}, {8}}), 1).value() == h);
  CHECK(narrow(t.constant(v0), 0, 1, 2).value() == v0.bottomRows(2));
  CHECK(narrow(t.constant(v0), 1, 2, 1).value() == v0.col(2));
  CHECK(narrow(t.constant(v0), 1, 3, 0).value().size() == 0);
  CHECK(index_select(t.constant(v0), 0, {2, 2, 0}).value() == M{{7, 8, 9}, {7, 8, 9}, {1, 2, 3}});
  CHECK(index_select(t.constant(v0), 1, {1}).value() == v0.col(1));
  // Column-major: the entries of a in storage order 1 4 2 5 3 6.
  CHECK(reshape(t.constant(a), 3, 2).value() == M{{1, 5}, {4, 3}, {2, 6}});
  CHECK(reshape(t.constant(a), 1, 6).value() == M{{1, 4, 2, 5, 3, 6}});
}

TEST_CASE("new ops: ties and kinks follow PyTorch", "[ops][new-ops]") {
  Parameter<double> p(M{{1, 3, 3}, {2, 0, 2}}), q(M{{1, 2, 4}, {2, 1, 2}});
  SECTION("maximum and minimum split a tie evenly") {
    Tape<double> t;
    t.backward(sum(maximum(t.parameter(p), t.parameter(q))));
    CHECK(p.grad == M{{0.5, 1, 0}, {0.5, 0, 0.5}});
    CHECK(q.grad == M{{0.5, 0, 1}, {0.5, 1, 0.5}});
    p.zero_grad();
    q.zero_grad();
    t.clear();
    t.backward(sum(minimum(t.parameter(p), t.parameter(q))));
    CHECK(p.grad == M{{0.5, 0, 1}, {0.5, 1, 0.5}});
  }
  SECTION("max and min of everything share the gradient among equal extremes") {
    Tape<double> t;
    t.backward(max(t.parameter(p)));
    CHECK(p.grad == M{{0, 0.5, 0.5}, {0, 0, 0}});
    p.zero_grad();
    t.clear();
    t.backward(min(t.parameter(q)));
    CHECK(q.grad == M{{0.5, 0, 0}, {0, 0.5, 0}});
  }
  SECTION("rowwise and colwise max and min send it to the first extreme") {
    Tape<double> t;
    auto r = rowwise_max(t.parameter(p));
    CHECK(r.value() == M{{3}, {2}});
    t.backward(sum(r));
    CHECK(p.grad == M{{0, 1, 0}, {1, 0, 0}});
    p.zero_grad();
    t.clear();
    auto c = colwise_min(t.parameter(q));
    CHECK(c.value() == M{{1, 1, 2}});
    t.backward(sum(c));
    CHECK(q.grad == M{{1, 0, 0}, {0, 1, 1}});
  }
  SECTION("clamp passes the gradient at its bounds, not beyond") {
    Parameter<double> x(M{{-2, -1, 0, 1, 2}});
    Tape<double> t;
    auto c = clamp(t.parameter(x), -1.0, 1.0);
    CHECK(c.value() == M{{-1, -1, 0, 1, 1}});
    t.backward(sum(c));
    CHECK(x.grad == M{{0, 1, 1, 1, 0}});
  }
  SECTION("a NaN is the max") {
    Tape<double> t;
    CHECK(std::isnan(max(t.constant(M{{1, std::nan(""), 2}})).value()(0, 0)));
  }
}

TEST_CASE("new ops: softmax, logsumexp and the losses are stable at extreme inputs", "[ops][new-ops]") {
  for (bool optimize : {false, true}) {
    CAPTURE(optimize);
    Tape<float> t;
    t.set_graph_optimization(optimize);
    Matrix<float> big{{1000, 0, -1000}, {-1000, 1000, 1000}};
    Parameter<float> x(big);
    auto s = rowwise_softmax(t.parameter(x));
    CHECK(s.value().allFinite());
    CHECK(s.value()(0, 0) == 1.0f);
    CHECK(s.value()(1, 1) == 0.5f);
    auto l = rowwise_log_softmax(t.parameter(x));
    CHECK(l.value()(0, 2) == -2000.0f);
    CHECK(colwise_log_softmax(t.parameter(x)).value().allFinite());
    CHECK(logsumexp(t.parameter(x)).value()(0, 0) == Approx(1000 + std::log(3.0f)));
    CHECK(colwise_logsumexp(t.parameter(x)).value()(0, 1) == 1000.0f);
    auto ce = cross_entropy(t.parameter(x), {2, 0});
    CHECK(ce.value()(0, 0) == Approx((2000.0f + 2000.0f + std::log(2.0f)) / 2));
    auto bce = binary_cross_entropy_with_logits(t.parameter(x), t.constant(Matrix<float>::Zero(2, 3)));
    CHECK(std::isfinite(bce.value()(0, 0)));
    CHECK(bce.value()(0, 0) ==
          Approx((3000.0f + std::log(2.0f)) / 6));  // softplus: 1000, log 2, 0, 0, 1000, 1000
    // log(softmax) as written underflows to log(0) = -inf without the rewrite; with it, it is finite.
    auto ls = log(rowwise_softmax(t.parameter(x)));
    if (optimize) {
      CHECK(ls.value()(0, 2) == -2000.0f);
    } else {
      CHECK(std::isinf(ls.value()(0, 2)));
    }
    t.backward(ce);
    CHECK(x.grad.allFinite());
  }
}

TEST_CASE("new ops: bad input is a clear error", "[ops][errors][new-ops]") {
  Tape<double> t;
  auto a = t.constant(M::Zero(3, 2));
  auto w = t.constant(M::Zero(2, 3));
  CHECK_THROWS_WITH(cat(a, w, 0), Catch::Contains("cat: cannot join 3x2 and 2x3 along dim 0"));
  CHECK_THROWS_WITH(cat(a, w, 1), Catch::Contains("cat: cannot join 3x2 and 2x3 along dim 1"));
  CHECK_THROWS_WITH(cat(a, a, 2), Catch::Contains("cat: dim must be 0 (rows) or 1 (columns), not 2"));
  CHECK_THROWS_WITH(narrow(a, 0, 2, 2), Catch::Contains("narrow: rows [2, 4) are not within 3x2"));
  CHECK_THROWS_AS(narrow(a, 1, -1, 1), ShapeError);
  CHECK_THROWS_WITH(index_select(a, 0, {0, 3}),
                    Catch::Contains("index_select: index 3 (entry 1) is out of range for the 3 rows of 3x2"));
  CHECK_THROWS_WITH(reshape(a, 4, 2), Catch::Contains("reshape: cannot lay out the 6 entries of 3x2 as 4x2"));
  CHECK_THROWS_WITH(maximum(a, w), Catch::Contains("maximum: shapes 3x2 and 2x3 differ"));
  CHECK_THROWS_AS(max(t.constant(M::Zero(0, 2))), ShapeError);
  CHECK_THROWS_AS(rowwise_max(t.constant(M::Zero(2, 0))), ShapeError);
  CHECK_THROWS_WITH(clamp(a, 1.0, -1.0), Catch::Contains("clamp: the lower bound"));
  CHECK_THROWS_WITH(cross_entropy(a, {0, 1}), Catch::Contains("cross_entropy: 2 labels for the 3 rows"));
  CHECK_THROWS_WITH(
      cross_entropy(a, {0, 2, 1}),
      Catch::Contains("cross_entropy: label 2 of sample 1 is not a class of the logits 3x2 (0 to 1)"));
  CHECK_THROWS_WITH(cross_entropy(a, w),
                    Catch::Contains("the target's shape 2x3 differs from the logits' 3x2"));
  CHECK_THROWS_WITH(binary_cross_entropy_with_logits(a, w), Catch::Contains("shapes 3x2 and 2x3 differ"));
  CHECK_THROWS_WITH(pow(a, w), Catch::Contains("pow: the exponent's shape 2x3 differs from the base's 3x2"));
  CHECK_THROWS_AS(softmax(a, 2), ShapeError);
  CHECK_THROWS_AS(rowwise_softmax(t.constant(M::Zero(2, 0))), ShapeError);
}

namespace {

// Runs g with the optimizer on (keeping the tape in `t`) and off; the values and the parameters' gradients
// agree, and with it on `fused` runs at some node in place of a recorded pattern (or, with fires = false,
// nowhere).
template <class T>
void check_rewrite(const std::function<Var<T>(Tape<T>&, const std::vector<Var<T>>&)>& g,
                   const std::vector<M>& xs, const std::string& fused, bool fires = true) {
  const double tol = std::is_same_v<T, float> ? 2e-5 : 1e-12;
  std::pair<Matrix<T>, std::vector<Matrix<T>>> results[2];
  Tape<T> kept;
  for (bool optimize : {false, true}) {
    std::vector<Parameter<T>> ps;
    ps.reserve(xs.size());
    for (const auto& x : xs) ps.emplace_back(x.cast<T>());
    Tape<T> local;
    Tape<T>& t = optimize ? kept : local;
    t.set_graph_optimization(optimize);
    std::vector<Var<T>> in;
    for (auto& p : ps) in.push_back(t.parameter(p));
    Var<T> root = g(t, in);
    t.backward(root);
    std::vector<Matrix<T>> grads;
    for (auto& p : ps) grads.push_back(p.grad);
    results[optimize] = {root.value(), grads};
  }
  CHECK(rel_diff(results[1].first.template cast<double>(), results[0].first.template cast<double>()) <= tol);
  for (std::size_t k = 0; k < xs.size(); ++k)
    CHECK(rel_diff(results[1].second[k].template cast<double>(),
                   results[0].second[k].template cast<double>()) <= tol);
  bool found = false;
  for (std::uint32_t i = 0; i < kept.size(); ++i)
    found = found || (kept.runs(i) && kept.run_op_name(i) == fused && kept.replaced_pattern(i) != nullptr);
  CAPTURE(fused);
  CHECK(found == fires);
}

M one_hot(Index rows, Index classes) {
  M y = M::Zero(rows, classes);
  const auto labels = some_labels(rows, classes);
  for (Index i = 0; i < rows; ++i) y(i, labels[std::size_t(i)]) = 1;
  return y;
}

template <class T>
void softmax_rewrites() {
  using VS = std::vector<Var<T>>;
  for (auto s : {Shape{1, 1}, Shape{4, 3}, Shape{300, 5}, Shape{40, 30}}) {
    CAPTURE(s.r, s.c);
    const M x = random_matrix(s.r, s.c, 5, -3, 3), w = random_matrix(s.r, s.c, 6);
    const M y = one_hot(s.r, s.c), p = random_matrix(s.r, s.c, 7, 0, 1);
    auto weighted = [w](Tape<T>& t, Var<T> v) { return sum(mul(v, t.constant(w.cast<T>()))); };
    // log(softmax(x)) -> log_softmax, each direction.
    check_rewrite<T>([&](Tape<T>& t, const VS& v) { return weighted(t, log(rowwise_softmax(v[0]))); }, {x},
                     "log_softmax");
    check_rewrite<T>([&](Tape<T>& t, const VS& v) { return weighted(t, log(colwise_softmax(v[0]))); }, {x},
                     "log_softmax");
    // The literal cross-entropy against one-hot rows (a constant), either side of the product, with
    // log(softmax) or log_softmax; and against target rows that are parameters too (both gradients).
    check_rewrite<T>(
        [&](Tape<T>& t, const VS& v) {
          return -mean(rowwise_sum(mul(t.constant(y.cast<T>()), log(rowwise_softmax(v[0])))));
        },
        {x}, "softmax_cross_entropy");
    check_rewrite<T>(
        [&](Tape<T>& t, const VS& v) {
          return -mean(rowwise_sum(mul(rowwise_log_softmax(v[0]), t.constant(y.cast<T>()))));
        },
        {x}, "softmax_cross_entropy");
    check_rewrite<T>(
        [&](Tape<T>&, const VS& v) { return -mean(rowwise_sum(mul(v[1], log(rowwise_softmax(v[0]))))); },
        {x, p}, "softmax_cross_entropy");
    // Not over columns (the fused node is the rows' cross-entropy).
    check_rewrite<T>(
        [&](Tape<T>& t, const VS& v) {
          return -mean(rowwise_sum(mul(t.constant(y.cast<T>()), log(colwise_softmax(v[0])))));
        },
        {x}, "softmax_cross_entropy", false);
  }
}

}  // namespace

TEST_CASE("graph optimizer: log(softmax) and the literal cross-entropy run as stable fused nodes",
          "[graph-optimizer][new-ops]") {
  SECTION("double") { softmax_rewrites<double>(); }
  SECTION("float") { softmax_rewrites<float>(); }
}

TEST_CASE(
    "graph optimizer: the fused cross-entropy is F.cross_entropy, and observed nodes keep their meaning",
    "[graph-optimizer][new-ops]") {
  const M x = random_matrix(6, 4, 9, -2, 2);
  Parameter<double> p(x), q(x);
  Tape<double> t, u;
  auto literal = -mean(rowwise_sum(mul(t.constant(one_hot(6, 4)), log(rowwise_softmax(t.parameter(p))))));
  auto direct = cross_entropy(u.parameter(q), some_labels(6, 4));
  t.backward(literal);
  u.backward(direct);
  CHECK(literal.value()(0, 0) == Approx(direct.value()(0, 0)).epsilon(1e-14));
  CHECK(rel_diff(p.grad, q.grad) <= 1e-14);

  // Reading the softmax (or the product) before the sweep keeps it: the pattern does not fire around it.
  for (int observe : {0, 1}) {
    CAPTURE(observe);
    Tape<double> v;
    Parameter<double> r(x);
    auto s = rowwise_softmax(v.parameter(r));
    auto prod = mul(v.constant(one_hot(6, 4)), log(s));
    auto loss = -mean(rowwise_sum(prod));
    CHECK(((observe == 0 ? s : prod).value().allFinite()));
    v.backward(loss);
    for (std::uint32_t i = 0; i < v.size(); ++i) {
      CHECK(std::string(v.run_op_name(i)) != "softmax_cross_entropy");
      if (observe == 0) CHECK(std::string(v.run_op_name(i)) != "log_softmax");
    }
    CHECK(loss.value()(0, 0) == Approx(direct.value()(0, 0)).epsilon(1e-12));
    CHECK(rel_diff(r.grad, q.grad) <= 1e-12);
  }
}
