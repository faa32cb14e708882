// The graph optimizer (src/graph_optimizer.cpp): every rewrite pattern gives the values and gradients of
// the graph as written (the same graph with the optimizer off), in float and double, on shapes either side
// of the BLAS threshold; the fused kernel that runs is the expected one and the nodes it reads around are
// not computed; patterns do not fire where they must not; a node the user reads keeps its meaning.
#include <catch2/catch.hpp>
#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <string>

#include "tapegrad/autodiff.hpp"

using namespace tapegrad;

namespace {

template <class T>
Matrix<T> random_matrix(Index r, Index c, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  Matrix<double> m(r, c);
  for (Index j = 0; j < c; ++j)
    for (Index i = 0; i < r; ++i) m(i, j) = u(rng);
  return m.cast<T>();
}

template <class T>
T tolerance() {
  return std::is_same_v<T, float> ? T(2e-5) : T(1e-12);
}

// max |a - b| / max(1, max |b|)
template <class T>
T rel_diff(const Matrix<T>& a, const Matrix<T>& b) {
  REQUIRE(a.rows() == b.rows());
  REQUIRE(a.cols() == b.cols());
  if (a.size() == 0) return T(0);
  return (a - b).cwiseAbs().maxCoeff() / std::max(T(1), b.cwiseAbs().maxCoeff());
}

template <class T>
using Graph = std::function<Var<T>(Tape<T>&, const std::vector<Var<T>>&)>;

// What a graph gives: the root's value and every parameter's gradient.
template <class T>
struct Outcome {
  Matrix<T> value;
  std::vector<Matrix<T>> grads;
};

// Records `g` on parameters with the given initial values, with the optimizer on or off; backward from the
// root (1x1: seed 1; otherwise a fixed random seed, so no gradient is accidentally symmetric).
template <class T>
Outcome<T> run(const Graph<T>& g, const std::vector<Matrix<T>>& xs, bool optimize, Tape<T>* keep = nullptr) {
  std::vector<Parameter<T>> params;
  for (const auto& x : xs) params.emplace_back(x);
  Tape<T> local;
  Tape<T>& t = keep ? *keep : local;
  t.set_graph_optimization(optimize);
  std::vector<Var<T>> in;
  for (auto& p : params) in.push_back(t.parameter(p));
  Var<T> root = g(t, in);
  if (root.rows() == 1 && root.cols() == 1)
    t.backward(root);
  else
    t.backward(root, random_matrix<T>(root.rows(), root.cols(), 99));
  Outcome<T> o{root.value(), {}};
  for (auto& p : params) o.grads.push_back(p.grad);
  return o;
}

// The pattern's graph gives the same with the optimizer on and off, and with it on, `fused` runs at some node
// in place of the pattern it replaced.
template <class T>
void check_pattern(const Graph<T>& g, const std::vector<Matrix<T>>& xs, const std::string& fused) {
  Tape<T> t;
  const Outcome<T> on = run(g, xs, true, &t);
  const Outcome<T> off = run(g, xs, false);
  CHECK(rel_diff(on.value, off.value) <= tolerance<T>());
  for (std::size_t k = 0; k < xs.size(); ++k) {
    CAPTURE(k);
    CHECK(rel_diff(on.grads[k], off.grads[k]) <= tolerance<T>());
  }
  bool found = false;
  for (std::uint32_t i = 0; i < t.size(); ++i)
    found = found || (t.runs(i) && t.run_op_name(i) == fused && t.replaced_pattern(i) != nullptr);
  CAPTURE(fused);
  CHECK(found);
}

// The count of nodes that the plan leaves out.
template <class T>
int elided(const Tape<T>& t) {
  int n = 0;
  for (std::uint32_t i = 0; i < t.size(); ++i) n += t.runs(i) ? 0 : 1;
  return n;
}

// Small (Eigen) and large (BLAS) products: the threshold is 16³ multiply-adds.
const std::vector<std::tuple<Index, Index, Index>> kSizes = {{3, 2, 4}, {1, 5, 1}, {40, 30, 20}};

template <class T>
void all_patterns() {
  using V = Var<T>;
  using VS = std::vector<V>;
  std::uint64_t seed = 1;
  for (auto [m, k, n] : kSizes) {
    CAPTURE(m, k, n);
    const auto A = random_matrix<T>(m, k, seed++), B = random_matrix<T>(k, n, seed++);
    const auto At = random_matrix<T>(k, m, seed++), Bt = random_matrix<T>(n, k, seed++);
    const auto v = random_matrix<T>(1, k, seed++), vc = random_matrix<T>(k, 1, seed++);
    const auto w = random_matrix<T>(m, 1, seed++);
    const auto W = random_matrix<T>(m, n, seed++);  // weights: a loss whose gradient is not symmetric
    auto weighted = [W](Tape<T>& t, V x) { return sum(mul(x, t.constant(W))); };
    SECTION("matmul(A, transpose(B)) -> matmul_nt") {
      check_pattern<T>([&](Tape<T>& t, const VS& x) { return weighted(t, matmul(x[0], transpose(x[1]))); },
                       {A, Bt}, "matmul_nt");
    }
    SECTION("matmul(transpose(A), B) -> matmul_tn") {
      check_pattern<T>([&](Tape<T>& t, const VS& x) { return weighted(t, matmul(transpose(x[0]), x[1])); },
                       {At, B}, "matmul_tn");
    }
    SECTION("matmul(transpose(A), transpose(B)) -> matmul_tt") {
      check_pattern<T>(
          [&](Tape<T>& t, const VS& x) { return weighted(t, matmul(transpose(x[0]), transpose(x[1]))); },
          {At, Bt}, "matmul_tt");
    }
    SECTION("matmul(transpose(A), A) -> gram, any gradient") {
      const auto Wk = random_matrix<T>(k, k, seed++);
      check_pattern<T>(
          [&](Tape<T>& t, const VS& x) { return sum(mul(matmul(transpose(x[0]), x[0]), t.constant(Wk))); },
          {A}, "gram");
      // A symmetric gradient (the one-product backward).
      check_pattern<T>([&](Tape<T>&, const VS& x) { return sum(square(matmul(transpose(x[0]), x[0]))); }, {A},
                       "sum_squares");
      check_pattern<T>([&](Tape<T>&, const VS& x) { return sum(square(matmul(transpose(x[0]), x[0]))); }, {A},
                       "gram");
    }
    SECTION("matmul(A, transpose(A)) -> gram_rows") {
      const auto Wm = random_matrix<T>(m, m, seed++);
      check_pattern<T>(
          [&](Tape<T>& t, const VS& x) { return sum(mul(matmul(x[0], transpose(x[0])), t.constant(Wm))); },
          {A}, "gram_rows");
    }
    SECTION("matmul(A, diag(v)) -> scale_columns, v a row or a column") {
      const auto Wk = random_matrix<T>(m, k, seed++);
      for (const auto& d : {v, vc}) {
        check_pattern<T>(
            [&](Tape<T>& t, const VS& x) { return sum(mul(matmul(x[0], diag(x[1])), t.constant(Wk))); },
            {A, d}, "scale_columns");
      }
    }
    SECTION("matmul(diag(v), B) -> scale_rows") {
      const auto Wk = random_matrix<T>(k, n, seed++);
      for (const auto& d : {v, vc}) {
        check_pattern<T>(
            [&](Tape<T>& t, const VS& x) { return sum(mul(matmul(diag(x[0]), x[1]), t.constant(Wk))); },
            {d, B}, "scale_rows");
      }
    }
    SECTION("mean(square(a - b)), sum(square(a - b)), sum_squares(a - b)") {
      check_pattern<T>([&](Tape<T>&, const VS& x) { return mean(square(x[0] - x[1])); }, {A, A * T(0.5)},
                       "mse");
      check_pattern<T>([&](Tape<T>&, const VS& x) { return sum(square(x[0] - x[1])); }, {A, A * T(0.5)},
                       "sum_squared_difference");
      check_pattern<T>([&](Tape<T>&, const VS& x) { return sum_squares(x[0] - x[1]); }, {A, A * T(0.5)},
                       "sum_squared_difference");
      // One side a constant: only the parameter gets a gradient.
      check_pattern<T>(
          [&](Tape<T>& t, const VS& x) { return mean(square(t.constant(W) - matmul(x[0], x[1]))); }, {A, B},
          "mse");
    }
    SECTION(
        "tanh / sigmoid / relu of a + b (a bias of any broadcast shape) -> add_tanh, add_sigmoid, add_relu") {
      const auto Wmk = random_matrix<T>(m, k, seed++);
      const auto bias_row = random_matrix<T>(1, k, seed++), bias_col = random_matrix<T>(m, 1, seed++),
                 bias_one = random_matrix<T>(1, 1, seed++), full = random_matrix<T>(m, k, seed++);
      for (const auto* bias : {&bias_row, &bias_col, &bias_one, &full}) {
        check_pattern<T>(
            [&](Tape<T>& t, const VS& x) { return sum(mul(tanh(x[0] + x[1]), t.constant(Wmk))); }, {A, *bias},
            "add_tanh");
        check_pattern<T>(
            [&](Tape<T>& t, const VS& x) { return sum(mul(sigmoid(x[1] + x[0]), t.constant(Wmk))); },
            {A, *bias}, "add_sigmoid");
        check_pattern<T>(
            [&](Tape<T>& t, const VS& x) { return sum(mul(relu(x[0] + x[1]), t.constant(Wmk))); }, {A, *bias},
            "add_relu");
      }
    }
    SECTION("mean(square(a)), sum(square(a))") {
      check_pattern<T>([&](Tape<T>&, const VS& x) { return mean(square(x[0])); }, {A}, "mean_squares");
      check_pattern<T>([&](Tape<T>&, const VS& x) { return sum(square(x[0])); }, {A}, "sum_squares");
    }
    SECTION("the seed loss as written runs as the hand-fused graph") {
      const auto M = random_matrix<T>(m, k, seed++);
      const auto U = random_matrix<T>(m, k, seed++), d = random_matrix<T>(1, k, seed++),
                 Vm = random_matrix<T>(k, k, seed++);
      const Matrix<T> I = Matrix<T>::Identity(k, k);
      Graph<T> seed_loss = [&](Tape<T>& t, const VS& x) {
        auto fit = mean(square(matmul(matmul(x[0], diag(square(x[1]))), transpose(x[2])) - t.constant(M)));
        auto orth_u = mean(square(matmul(transpose(x[0]), x[0]) - t.constant(I)));
        auto orth_v = mean(square(matmul(x[2], transpose(x[2])) - t.constant(I)));
        return fit + orth_u / T(100) + orth_v / T(100);
      };
      check_pattern<T>(seed_loss, {U, d, Vm}, "mse");
      Tape<T> t;
      run(seed_loss, {U, d, Vm}, true, &t);
      // Left out: 3 transposes, the diag, 3 subs and 3 squares.
      CHECK(elided(t) == 10);
      std::vector<std::string> ran;
      for (std::uint32_t i = 0; i < t.size(); ++i)
        if (t.runs(i)) ran.push_back(t.run_op_name(i));
      for (const char* op : {"scale_columns", "matmul_nt", "gram", "gram_rows", "mse"}) {
        CAPTURE(op);
        CHECK(std::count(ran.begin(), ran.end(), op) >= 1);
      }
      for (const char* op : {"matmul", "transpose", "diag", "sub", "mean"}) {
        CAPTURE(op);
        CHECK(std::count(ran.begin(), ran.end(), op) == 0);
      }
    }
  }
}

}  // namespace

TEST_CASE("every rewrite pattern keeps values and gradients (double)", "[optimizer]") {
  all_patterns<double>();
}
TEST_CASE("every rewrite pattern keeps values and gradients (float)", "[optimizer]") {
  all_patterns<float>();
}

TEST_CASE("patterns do not fire where they must not", "[optimizer]") {
  using M = Matrix<double>;
  Parameter<double> a(random_matrix<double>(4, 3, 1)), b(random_matrix<double>(1, 3, 2));
  SECTION("a broadcasting a - b is not one pass (the square of it still is)") {
    Tape<double> t;
    auto l = mean(square(t.parameter(a) - t.parameter(b)));  // b broadcasts over the rows
    t.backward(l);
    CHECK(std::string(t.run_op_name(l.index())) == "mean_squares");
    CHECK(t.runs(l.index() - 2));   // the sub runs
    CHECK(!t.runs(l.index() - 1));  // the square does not
  }
  SECTION("diag of a matrix (its diagonal) is not a scaling") {
    Tape<double> t;
    auto A = t.parameter(a);
    auto g = matmul(transpose(A), A);  // 3x3
    auto l = sum(matmul(A, diag(g)));  // diag(g) is the 3x1 diagonal
    t.backward(l);
    CHECK(std::string(t.run_op_name(l.index() - 1)) == "matmul");
  }
  SECTION("the named fused ops and a matmul of two plain nodes stay as they are") {
    Tape<double> t;
    auto A = t.parameter(a);
    auto l = sum(matmul_nt(A, A)) + sum(matmul(A, t.constant(M::Ones(3, 2))));
    t.backward(l);
    for (std::uint32_t i = 0; i < t.size(); ++i) {
      CAPTURE(i, t.op_name(i));
      CHECK(t.replaced_pattern(i) == nullptr);
      CHECK(t.runs(i));
    }
  }
  SECTION("a transpose with another use still runs for it, and both uses are right") {
    auto g = [](Tape<double>&, const std::vector<Var<double>>& x) {
      auto At = transpose(x[0]);
      return sum(matmul(At, x[0])) + sum(exp(At));
    };
    const auto on = run<double>(g, {a.value}, true), off = run<double>(g, {a.value}, false);
    CHECK(rel_diff(on.grads[0], off.grads[0]) <= 1e-12);
    Tape<double> t;
    run<double>(g, {a.value}, true, &t);
    int transposes = 0, grams = 0;
    for (std::uint32_t i = 0; i < t.size(); ++i) {
      transposes += t.runs(i) && std::string(t.run_op_name(i)) == "transpose";
      grams += std::string(t.run_op_name(i)) == "gram";
    }
    CHECK(transposes == 1);  // still runs, for exp
    CHECK(grams == 1);
  }
}

TEST_CASE("a node the user reads keeps its meaning", "[optimizer]") {
  using M = Matrix<double>;
  const M a0 = random_matrix<double>(5, 3, 3), m0 = random_matrix<double>(5, 3, 4);
  // mean(square(A - M)): the sub and the square are read around.
  auto record = [&](Tape<double>& t, Parameter<double>& p) {
    auto d = t.parameter(p) - t.constant(m0);
    auto s = square(d);
    return std::tuple{d, s, mean(s)};
  };
  Parameter<double> ref_p(a0);
  Tape<double> ref;
  ref.set_graph_optimization(false);
  auto [rd, rs, rl] = record(ref, ref_p);
  ref.backward(rl);

  SECTION("value() and grad() of nodes the plan left out, after backward") {
    Parameter<double> p(a0);
    Tape<double> t;
    auto [d, s, l] = record(t, p);
    t.backward(l);
    CHECK(!t.runs(d.index()));
    CHECK(!t.runs(s.index()));
    CHECK(rel_diff(p.grad, ref_p.grad) <= 1e-14);
    CHECK(rel_diff(s.value(), rs.value()) == 0);
    CHECK(rel_diff(d.value(), rd.value()) == 0);
    CHECK(rel_diff(s.grad(), rs.grad()) <= 1e-14);
    CHECK(rel_diff(d.grad(), rd.grad()) <= 1e-14);
    CHECK(rel_diff(p.grad, ref_p.grad) <= 1e-14);  // the parameters' gradients are not counted twice
    // Once read, the nodes are kept: replays compute them.
    CHECK(t.runs(d.index()));
    CHECK(t.runs(s.index()));
    p.value *= 2;
    t.forward();
    CHECK(rel_diff(s.value(), M((2 * a0 - m0).array().square())) <= 1e-14);
  }
  SECTION("a node read before the rest is recorded is not read around") {
    Parameter<double> p(a0);
    Tape<double> t;
    auto d = t.parameter(p) - t.constant(m0);
    const M& dv = d.value();
    auto l = mean(square(d));
    t.backward(l);
    CHECK(t.runs(d.index()));
    CHECK(rel_diff(dv, rd.value()) == 0);
    CHECK(rel_diff(d.grad(), rd.grad()) <= 1e-14);
    CHECK(rel_diff(p.grad, ref_p.grad) <= 1e-14);
  }
  SECTION("a second root inside a fused pattern") {
    Parameter<double> p(a0);
    Tape<double> t;
    auto [d, s, l] = record(t, p);
    t.backward(l);
    p.zero_grad();
    t.backward(s, M::Ones(5, 3));  // d(sum of the squares)/dA = 2 (A - M)
    CHECK(rel_diff(p.grad, M(2 * (a0 - m0))) <= 1e-14);
  }
}

TEST_CASE("re-recording the same graph reuses the plan and gives the same results", "[optimizer]") {
  using M = Matrix<double>;
  Parameter<double> u(random_matrix<double>(6, 3, 5)), v(random_matrix<double>(3, 3, 6));
  const M m = random_matrix<double>(6, 3, 7);
  auto loss = [&](Tape<double>& t) {
    return mean(square(matmul(t.parameter(u), transpose(t.parameter(v))) - t.constant(m)));
  };
  Tape<double> plain, fused;
  plain.set_graph_optimization(false);
  for (int step = 0; step < 4; ++step) {
    CAPTURE(step);
    u.zero_grad(), v.zero_grad();
    plain.clear();
    plain.backward(loss(plain));
    const M gu = u.grad, gv = v.grad;
    u.zero_grad(), v.zero_grad();
    fused.clear();
    auto l = loss(fused);
    fused.backward(l);
    CHECK(std::string(fused.run_op_name(l.index())) == "mse");
    CHECK(rel_diff(u.grad, gu) <= 1e-14);
    CHECK(rel_diff(v.grad, gv) <= 1e-14);
    // A different graph every other step: the plan follows.
    if (step % 2 == 1) {
      fused.clear();
      auto other = sum(square(fused.parameter(u) - fused.constant(m)));
      fused.backward(other);
      CHECK(std::string(fused.run_op_name(other.index())) == "sum_squared_difference");
    }
    u.value *= 0.9;
  }
}

TEST_CASE("the optimizer can be switched off and on, and anomaly detection runs ops as written",
          "[optimizer]") {
  using M = Matrix<double>;
  Parameter<double> p(random_matrix<double>(4, 4, 8));
  Tape<double> t;
  auto P = t.parameter(p);
  auto l1 = sum(matmul(transpose(P), P));
  CHECK(std::string(t.run_op_name(l1.index() - 1)) == "gram");
  t.set_graph_optimization(false);  // computes what was recorded, as written
  CHECK(std::string(t.run_op_name(l1.index() - 1)) == "matmul");
  CHECK(t.runs(l1.index() - 2));
  CHECK(t.is_computed(l1.index() - 2));
  auto l2 = sum(matmul(transpose(P), P));
  CHECK(t.is_computed(l2.index()));  // off: ops run when recorded
  CHECK(l1.value()(0, 0) == Approx(l2.value()(0, 0)).epsilon(1e-14));
  t.set_graph_optimization(true);
  t.backward(l2);
  CHECK(rel_diff(p.grad, M(p.value * M::Ones(4, 4) + p.value * M::Ones(4, 4))) <= 1e-13);

  Tape<double> a;
  a.set_anomaly_detection(true);
  auto x = a.parameter(p);
  auto y = matmul(transpose(x), x);
  CHECK(a.is_computed(y.index()));
  CHECK(std::string(a.run_op_name(y.index())) == "matmul");
}

TEST_CASE("edge cases of reading around rewrites (review findings)", "[optimizer]") {
  using M = Matrix<double>;
  SECTION("an op parameter of -0.0 is not the same as 0.0 (the plan is not reused)") {
    Parameter<double> w(M::Constant(1, 1, 2.0));
    Tape<double> t;
    for (double s : {0.0, -0.0, 0.0}) {
      t.clear();
      auto y = 1.0 / (t.parameter(w) * s);
      CHECK(y.value()(0, 0) == (std::signbit(s) ? -1.0 : 1.0) * std::numeric_limits<double>::infinity());
    }
  }
  SECTION("an exception while recomputing a gradient leaves the parameters' gradients in place") {
    Parameter<double> w(M{{0, 1}, {2, 3}});
    Tape<double> t;
    auto W = t.parameter(w);
    auto x = transpose(W);
    auto l = sum(sqrt(matmul(x, t.constant(M::Identity(2, 2)))));  // matmul_tn; sqrt'(0) is infinite
    t.backward(l);
    t.set_anomaly_detection(true);
    CHECK_THROWS_AS(x.grad(), NonFiniteError);
    t.set_anomaly_detection(false);
    w.zero_grad();
    t.backward(sum(W));
    CHECK(w.grad == M::Ones(2, 2));
  }
  SECTION("the gradient of a read-around node the last root does not depend on is zero, of its shape") {
    Parameter<double> w(M::Random(3, 2)), v(M::Random(2, 2));
    Tape<double> t;
    auto x = transpose(t.parameter(w));
    auto l1 = sum(matmul(t.constant(M::Ones(4, 2)), x));  // matmul_nt: x is read around
    auto l2 = sum(t.parameter(v));
    t.backward(l1);
    t.backward(l2);
    CHECK(x.grad() == M::Zero(2, 3));
    t.backward(l1);
    CHECK(x.grad() == M::Constant(2, 3, 4.0));  // d(sum(C xᵀ... ))/dx with C of ones: 4 everywhere
  }
}

// Ops that write an input's gradient first instead of adding to a zeroed buffer (OpDef::first_write): with
// the optimizer on they do; off, every op adds into zeroed buffers. Both give the same gradients where an
// input is used twice by one op, by a writing op and an adding one in either order, through a replay, and
// for intermediates whose gradient is read; parameters keep accumulating.
template <class T>
void check_first_write() {
  for (const Index n : {3, 40}) {
    CAPTURE(n);
    const auto A = random_matrix<T>(n, n, 1), B = random_matrix<T>(n, n, 2), v = random_matrix<T>(1, n, 3);
    const std::vector<Graph<T>> graphs = {
        // one op, the same input twice
        [](Tape<T>&, const std::vector<Var<T>>& x) {
          auto y = x[0] * T(2);
          return sum(matmul(y, y));
        },
        [](Tape<T>&, const std::vector<Var<T>>& x) {
          auto y = exp(x[0]);
          return mse(y, y) + sum_squares(y + y);
        },
        // a writing op first (in sweep order: created last), then an adding one, and the reverse
        [](Tape<T>&, const std::vector<Var<T>>& x) {
          auto y = tanh(x[0]);
          return sum(exp(y)) + sum(matmul(y, x[1]));
        },
        [](Tape<T>&, const std::vector<Var<T>>& x) {
          auto y = tanh(x[0]);
          return sum(matmul(y, x[1])) + sum(exp(y));
        },
        // the seed loss's shapes of use: scale_columns, matmul_nt, gram, gram_rows, mse, scalar multiples
        [](Tape<T>& t, const std::vector<Var<T>>& x) {
          auto S = diag(square(x[2]));
          auto I = t.constant(Matrix<T>::Identity(x[0].cols(), x[0].cols()));
          auto fit = mean(square(matmul(matmul(x[0], S), transpose(x[1])) -
                                 t.constant(Matrix<T>::Ones(x[0].rows(), x[1].rows()))));
          return fit + mean(square(matmul(transpose(x[0]), x[0]) - I)) / T(100) +
                 mean(square(matmul(x[1], transpose(x[1])) - I)) / T(100);
        },
        // broadcasting adds (a row, a column, a scalar) and scale_rows
        [](Tape<T>& t, const std::vector<Var<T>>& x) {
          auto row = sum(x[0]) * T(0.5) + x[2];
          auto col = transpose(x[2]) + t.scalar(T(1));
          return sum(tanh(x[0] + row)) + sum(tanh(x[1] + col)) + sum(matmul(diag(x[2]), x[1]));
        },
    };
    for (std::size_t g = 0; g < graphs.size(); ++g) {
      CAPTURE(g);
      const Outcome<T> on = run(graphs[g], {A, B, v}, true), off = run(graphs[g], {A, B, v}, false);
      CHECK(rel_diff(on.value, off.value) <= tolerance<T>());
      for (std::size_t k = 0; k < 3; ++k) {
        CAPTURE(k);
        CHECK(rel_diff(on.grads[k], off.grads[k]) <= tolerance<T>());
      }
    }
    // Replayed twice with accumulation into the parameters, and an intermediate's gradient read: the same
    // as the optimizer off.
    auto replay = [&](bool optimize) {
      Parameter<T> a(A), b(B);
      Tape<T> t;
      t.set_graph_optimization(optimize);
      auto y = matmul(t.parameter(a), t.parameter(b));
      auto loss = mse(y, t.parameter(a)) + sum_squares(y) * T(0.25);
      t.backward(loss);
      t.forward();
      t.backward(loss);  // a's and b's gradients hold two sweeps
      return std::make_pair(Matrix<T>(a.grad), Matrix<T>(b.grad));
    };
    const auto on = replay(true), off = replay(false);
    CHECK(rel_diff(on.first, off.first) <= tolerance<T>());
    CHECK(rel_diff(on.second, off.second) <= tolerance<T>());
    Parameter<T> a(A);
    Tape<T> t;
    auto x = t.parameter(a) * T(3);
    auto loss = sum_squares(x) + sum(x);
    t.backward(loss);
    const Matrix<T> expected = (T(2) * (T(3) * A).array() + T(1)).matrix();
    CHECK(rel_diff(x.grad(), expected) <= tolerance<T>());
  }
}

TEST_CASE("ops that write gradients first give the gradients of ops that add", "[optimizer]") {
  check_first_write<double>();
  check_first_write<float>();
}
