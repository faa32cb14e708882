// The graph optimizer's rewrite patterns (src/graph_optimizer.cpp): every pattern gives the values and
// gradients of the graph as written (the same graph with the optimizer off), in float and double, on shapes
// either side of the BLAS threshold; the fused kernel that runs is the expected one and the nodes it reads
// around are not computed; patterns do not fire where they must not.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "graph_optimizer_check.hpp"
#include "tapegrad/autodiff.hpp"

using namespace tapegrad;
using namespace tapegrad::test;

namespace {

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
    SECTION("matmul(transpose(A), A) -> crossprod, any gradient") {
      const auto Wk = random_matrix<T>(k, k, seed++);
      check_pattern<T>(
          [&](Tape<T>& t, const VS& x) { return sum(mul(matmul(transpose(x[0]), x[0]), t.constant(Wk))); },
          {A}, "crossprod");
      // A symmetric gradient (the one-product backward).
      check_pattern<T>([&](Tape<T>&, const VS& x) { return sum(square(matmul(transpose(x[0]), x[0]))); }, {A},
                       "sum_squares");
      check_pattern<T>([&](Tape<T>&, const VS& x) { return sum(square(matmul(transpose(x[0]), x[0]))); }, {A},
                       "crossprod");
    }
    SECTION("matmul(A, transpose(A)) -> tcrossprod") {
      const auto Wm = random_matrix<T>(m, m, seed++);
      check_pattern<T>(
          [&](Tape<T>& t, const VS& x) { return sum(mul(matmul(x[0], transpose(x[0])), t.constant(Wm))); },
          {A}, "tcrossprod");
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
      for (const char* op : {"scale_columns", "matmul_nt", "crossprod", "tcrossprod", "mse"}) {
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
    int transposes = 0, crossprods = 0;
    for (std::uint32_t i = 0; i < t.size(); ++i) {
      transposes += t.runs(i) && std::string(t.run_op_name(i)) == "transpose";
      crossprods += std::string(t.run_op_name(i)) == "crossprod";
    }
    CHECK(transposes == 1);  // still runs, for exp
    CHECK(crossprods == 1);
  }
}
