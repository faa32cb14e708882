// Every op's gradient against central finite differences, in double, on 1x1, 1xn, nx1, square, tall
// and wide shapes; and the shape errors.
#include <catch2/catch.hpp>
#include <random>

#include "tapegrad/autodiff.hpp"

using namespace tapegrad;
using M = Matrix<double>;
using V = Var<double>;
using Inputs = std::vector<V>;

namespace {

struct Shape {
  Index r, c;
};
const std::vector<Shape> kShapes = {{1, 1}, {1, 4}, {4, 1}, {3, 3}, {5, 2}, {2, 5}};

// Deterministic inputs: uniform in [lo, hi], with a random sign when `signed_` (then |x| >= lo).
M random_matrix(Index r, Index c, std::uint64_t seed, double lo = -1.0, double hi = 1.0,
                bool signed_ = false) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  M m(r, c);
  for (Index j = 0; j < c; ++j)
    for (Index i = 0; i < r; ++i) m(i, j) = (signed_ && (rng() & 1) ? -1.0 : 1.0) * u(rng);
  return m;
}

void require_gradients(const GradCheckFunction& f, const std::vector<M>& xs) {
  const auto res = check_gradients(f, xs);
  INFO(res.report());
  REQUIRE(res.checked > 0);
  REQUIRE(res.ok);
}

// Checks a one-input op on every shape; `lo`, `hi`, `signed_` choose its domain.
void check_unary(const std::function<V(V)>& op, double lo = -1.0, double hi = 1.0, bool signed_ = false) {
  std::uint64_t seed = 1;
  for (auto s : kShapes) {
    CAPTURE(s.r, s.c);
    require_gradients([&](Tape<double>&, const Inputs& x) { return op(x[0]); },
                      {random_matrix(s.r, s.c, seed++, lo, hi, signed_)});
  }
}

}  // namespace

TEST_CASE("elementwise ops have correct gradients", "[ops][gradcheck]") {
  SECTION("square") {
    check_unary([](V a) { return square(a); });
  }
  SECTION("exp") {
    check_unary([](V a) { return exp(a); });
  }
  SECTION("log") {
    check_unary([](V a) { return log(a); }, 0.2, 2.0);
  }
  SECTION("sqrt") {
    check_unary([](V a) { return sqrt(a); }, 0.2, 2.0);
  }
  SECTION("pow 3") {
    check_unary([](V a) { return pow(a, 3.0); });
  }
  SECTION("pow 0.5") {
    check_unary([](V a) { return pow(a, 0.5); }, 0.2, 2.0);
  }
  SECTION("pow -1.5") {
    check_unary([](V a) { return pow(a, -1.5); }, 0.5, 2.0);
  }
  SECTION("pow 0") {
    check_unary([](V a) { return pow(a, 0.0); });
  }
  SECTION("abs") {
    check_unary([](V a) { return abs(a); }, 0.1, 1.0, true);
  }
  SECTION("relu") {
    check_unary([](V a) { return relu(a); }, 0.1, 1.0, true);
  }
  SECTION("tanh") {
    check_unary([](V a) { return tanh(a); }, -2.0, 2.0);
  }
  SECTION("sigmoid") {
    check_unary([](V a) { return sigmoid(a); }, -3.0, 3.0);
  }
  SECTION("neg") {
    check_unary([](V a) { return -a; });
  }
  SECTION("add scalar") {
    check_unary([](V a) { return a + 2.5; });
  }
  SECTION("scalar minus") {
    check_unary([](V a) { return 2.5 - a; });
  }
  SECTION("mul scalar") {
    check_unary([](V a) { return -3.0 * a; });
  }
  SECTION("div by scalar") {
    check_unary([](V a) { return a / 4.0; });
  }
  SECTION("scalar over") {
    check_unary([](V a) { return 2.0 / a; }, 0.3, 1.0, true);
  }
}

TEST_CASE("reductions have correct gradients", "[ops][gradcheck]") {
  SECTION("sum") {
    check_unary([](V a) { return sum(a); });
  }
  SECTION("mean") {
    check_unary([](V a) { return mean(a); });
  }
  SECTION("colwise_sum") {
    check_unary([](V a) { return colwise_sum(a); });
  }
  SECTION("rowwise_sum") {
    check_unary([](V a) { return rowwise_sum(a); });
  }
  SECTION("colwise_mean") {
    check_unary([](V a) { return colwise_mean(a); });
  }
  SECTION("rowwise_mean") {
    check_unary([](V a) { return rowwise_mean(a); });
  }
  SECTION("norm") {
    check_unary([](V a) { return norm(a); });
  }
  SECTION("rowwise_logsumexp") {
    check_unary([](V a) { return rowwise_logsumexp(a); }, -3.0, 3.0);
  }
  SECTION("sum_squares") {
    check_unary([](V a) { return sum_squares(a); });
  }
}

TEST_CASE("linear-algebra ops have correct gradients", "[ops][gradcheck]") {
  SECTION("transpose") {
    check_unary([](V a) { return transpose(a); });
  }
  SECTION("crossprod") {
    check_unary([](V a) { return crossprod(a); });
  }
  SECTION("crossprod with a non-symmetric gradient and a symmetric one") {
    // sum(crossprod(A)) gives the Gram node a symmetric gradient (the one-product path).
    check_unary([](V a) { return sum(crossprod(a)); });
    check_unary([](V a) { return mean(mul(crossprod(a), crossprod(a))); });
  }
  SECTION("matmul") {
    std::uint64_t seed = 100;
    for (auto [r, k, c] : std::vector<std::array<Index, 3>>{
             {1, 1, 1}, {1, 4, 1}, {4, 1, 4}, {3, 3, 3}, {5, 2, 3}, {2, 5, 4}, {1, 3, 5}, {6, 2, 1}}) {
      CAPTURE(r, k, c);
      require_gradients([](Tape<double>&, const Inputs& x) { return matmul(x[0], x[1]); },
                        {random_matrix(r, k, seed++), random_matrix(k, c, seed++)});
    }
  }
  SECTION("matmul_nt") {
    std::uint64_t seed = 150;
    for (auto [r, k, c] : std::vector<std::array<Index, 3>>{
             {1, 1, 1}, {1, 4, 1}, {4, 1, 4}, {3, 3, 3}, {5, 2, 3}, {2, 5, 4}, {1, 3, 5}, {6, 2, 1}}) {
      CAPTURE(r, k, c);
      require_gradients([](Tape<double>&, const Inputs& x) { return matmul_nt(x[0], x[1]); },
                        {random_matrix(r, k, seed++), random_matrix(c, k, seed++)});
    }
    // The same node on both sides (A Aᵀ through the general product).
    check_unary([](V a) { return matmul_nt(a, a); });
  }
  SECTION("tcrossprod, with a symmetric and a non-symmetric gradient") {
    check_unary([](V a) { return tcrossprod(a); });
    check_unary([](V a) { return sum(tcrossprod(a)); });
    check_unary([](V a) { return mean(mul(tcrossprod(a), tcrossprod(a))); });
    check_unary([](V a) { return mse(tcrossprod(a), a.tape().constant(M::Identity(a.rows(), a.rows()))); });
  }
  SECTION("diag of a vector and of a square matrix") {
    std::uint64_t seed = 200;
    for (Index n : {1, 2, 5}) {
      require_gradients([](Tape<double>&, const Inputs& x) { return diag(x[0]); },
                        {random_matrix(1, n, seed++)});
      require_gradients([](Tape<double>&, const Inputs& x) { return diag(x[0]); },
                        {random_matrix(n, 1, seed++)});
      require_gradients([](Tape<double>&, const Inputs& x) { return diag(x[0]); },
                        {random_matrix(n, n, seed++)});
    }
  }
  SECTION("scale_columns") {
    std::uint64_t seed = 300;
    for (auto s : kShapes) {
      CAPTURE(s.r, s.c);
      require_gradients([](Tape<double>&, const Inputs& x) { return scale_columns(x[0], x[1]); },
                        {random_matrix(s.r, s.c, seed++), random_matrix(1, s.c, seed++)});
      require_gradients([](Tape<double>&, const Inputs& x) { return scale_columns(x[0], x[1]); },
                        {random_matrix(s.r, s.c, seed++), random_matrix(s.c, 1, seed++)});
    }
  }
}

TEST_CASE("binary arithmetic has correct gradients, with broadcasting", "[ops][gradcheck]") {
  using Op = std::function<V(V, V)>;
  const std::vector<std::pair<const char*, Op>> ops = {{"add", [](V a, V b) { return a + b; }},
                                                       {"sub", [](V a, V b) { return a - b; }},
                                                       {"mul", [](V a, V b) { return mul(a, b); }},
                                                       {"div", [](V a, V b) { return div(a, b); }},
                                                       {"mse", [](V a, V b) { return mse(a, b); }}};
  std::uint64_t seed = 400;
  for (const auto& [name, op] : ops) {
    for (auto s : kShapes) {
      CAPTURE(name, s.r, s.c);
      auto f = [&op](Tape<double>&, const Inputs& x) { return op(x[0], x[1]); };
      // Divisors stay away from zero.
      require_gradients(f,
                        {random_matrix(s.r, s.c, seed++), random_matrix(s.r, s.c, seed++, 0.5, 1.5, true)});
      if (std::string(name) == "mse") continue;  // mse takes equal shapes only
      // Row vector (bias), column vector and 1x1, on either side.
      for (auto b : std::vector<Shape>{{1, s.c}, {s.r, 1}, {1, 1}}) {
        CAPTURE(b.r, b.c);
        require_gradients(f,
                          {random_matrix(s.r, s.c, seed++), random_matrix(b.r, b.c, seed++, 0.5, 1.5, true)});
        require_gradients(f, {random_matrix(b.r, b.c, seed++, 0.5, 1.5, true),
                              random_matrix(s.r, s.c, seed++, 0.5, 1.5, true)});
      }
    }
  }
  SECTION("row vector against column vector broadcasts to a matrix") {
    Tape<double> t;
    auto c = t.constant(M::Ones(3, 1)) + t.constant(M::Ones(1, 4));
    REQUIRE(c.rows() == 3);
    REQUIRE(c.cols() == 4);
  }
}

TEST_CASE("fused ops equal their composite forms", "[ops]") {
  const M a = random_matrix(4, 3, 7), b = random_matrix(4, 3, 8), d = random_matrix(1, 3, 9);
  auto grads = [&](const std::function<V(Tape<double>&, V, V)>& f) {
    Parameter<double> pa(a), pb(b);
    Tape<double> t;
    auto l = f(t, t.parameter(pa), t.parameter(pb));
    t.backward(l);
    return std::tuple{l.value()(0, 0), pa.grad, pb.grad};
  };
  auto [l1, ga1, gb1] = grads([](Tape<double>&, V x, V y) { return mse(x, y); });
  auto [l2, ga2, gb2] = grads([](Tape<double>&, V x, V y) { return mean(square(x - y)); });
  CHECK(l1 == Approx(l2).epsilon(1e-14));
  CHECK(ga1.isApprox(ga2, 1e-14));
  CHECK(gb1.isApprox(gb2, 1e-14));
  auto [l3, ga3, gb3] = grads([](Tape<double>&, V x, V) { return sum_squares(x); });
  auto [l4, ga4, gb4] = grads([](Tape<double>&, V x, V) { return sum(square(x)); });
  CHECK(l3 == Approx(l4).epsilon(1e-14));
  CHECK(ga3.isApprox(ga4, 1e-14));
  auto [l5, ga5, gb5] =
      grads([](Tape<double>&, V x, V y) { return sum(crossprod(x) - matmul(transpose(y), y)); });
  auto [l6, ga6, gb6] =
      grads([](Tape<double>&, V x, V y) { return sum(matmul(transpose(x), x) - crossprod(y)); });
  CHECK(ga5.isApprox(ga6, 1e-14));
  CHECK(gb5.isApprox(gb6, 1e-14));
  Tape<double> t;
  auto x = t.constant(a), v = t.constant(d);
  CHECK(scale_columns(x, v).value().isApprox(matmul(x, diag(v)).value(), 1e-15));
}

// Each shortcut (a fused op, a transpose passed to GEMM as a flag, a symmetric rank-k update) gives what the
// plain ops give, values and gradients, below and above the BLAS threshold, in float and double.
template <class T>
void check_shortcuts(Index m, Index n, double tol) {
  using MT = Matrix<T>;
  const MT a = random_matrix(m, n, 31).cast<T>(), b = random_matrix(n + 1, n, 32).cast<T>(),
           w = random_matrix(m, n + 1, 33).cast<T>(), w2 = random_matrix(m, m, 34).cast<T>();
  auto run = [&](const std::function<Var<T>(Tape<T>&, Var<T>, Var<T>)>& f) {
    Parameter<T> pa(a), pb(b);
    Tape<T> t;
    auto y = f(t, t.parameter(pa), t.parameter(pb));
    t.backward(y);
    return std::tuple{y.value()(0, 0), pa.grad, pb.grad};
  };
  auto close = [tol](const MT& x, const MT& y) { return (x - y).norm() <= tol * std::max(T(1), y.norm()); };
  // A Bᵀ: matmul_nt against matmul + transpose, weighted so that its gradient is not uniform.
  auto [l1, ga1, gb1] =
      run([&](Tape<T>& t, Var<T> x, Var<T> y) { return sum(mul(matmul_nt(x, y), t.constant(w))); });
  auto [l2, ga2, gb2] =
      run([&](Tape<T>& t, Var<T> x, Var<T> y) { return sum(mul(matmul(x, transpose(y)), t.constant(w))); });
  CHECK(std::abs(l1 - l2) <= tol * std::max(T(1), std::abs(l2)));
  CHECK(close(ga1, ga2));
  CHECK(close(gb1, gb2));
  // A Aᵀ: tcrossprod against matmul + transpose, with a symmetric gradient (mse against I) and a
  // non-symmetric one.
  const MT id = MT::Identity(m, m);
  auto [l3, ga3, gb3] = run([&](Tape<T>& t, Var<T> x, Var<T>) { return mse(tcrossprod(x), t.constant(id)); });
  auto [l4, ga4, gb4] =
      run([&](Tape<T>& t, Var<T> x, Var<T>) { return mse(matmul(x, transpose(x)), t.constant(id)); });
  CHECK(std::abs(l3 - l4) <= tol * std::max(T(1), std::abs(l4)));
  CHECK(close(ga3, ga4));
  auto [l5, ga5, gb5] =
      run([&](Tape<T>& t, Var<T> x, Var<T>) { return sum(mul(tcrossprod(x), t.constant(w2))); });
  auto [l6, ga6, gb6] =
      run([&](Tape<T>& t, Var<T> x, Var<T>) { return sum(mul(matmul(x, transpose(x)), t.constant(w2))); });
  CHECK(std::abs(l5 - l6) <= tol * std::max(T(1), std::abs(l6)));
  CHECK(close(ga5, ga6));
  // AᵀA with a non-symmetric gradient: crossprod against matmul + transpose.
  const MT w3 = random_matrix(n, n, 35).cast<T>();
  auto [l7, ga7, gb7] =
      run([&](Tape<T>& t, Var<T> x, Var<T>) { return sum(mul(crossprod(x), t.constant(w3))); });
  auto [l8, ga8, gb8] =
      run([&](Tape<T>& t, Var<T> x, Var<T>) { return sum(mul(matmul(transpose(x), x), t.constant(w3))); });
  CHECK(std::abs(l7 - l8) <= tol * std::max(T(1), std::abs(l8)));
  CHECK(close(ga7, ga8));
  // mse with both sides needing a gradient (one pass over A - B) against mean(square(A - B)).
  const MT c = random_matrix(m, n, 36).cast<T>();
  Parameter<T> p1(a), p2(c), q1(a), q2(c);
  Tape<T> t;
  t.backward(mse(t.parameter(p1), t.parameter(p2)));
  t.backward(mean(square(t.parameter(q1) - t.parameter(q2))));
  CHECK(close(p1.grad, q1.grad));
  CHECK(close(p2.grad, q2.grad));
}

TEST_CASE("shortcuts give the plain path's values and gradients", "[ops][shortcuts]") {
  check_shortcuts<double>(5, 4, 1e-13);
  check_shortcuts<double>(90, 70, 1e-12);  // above the BLAS threshold
  check_shortcuts<float>(5, 4, 1e-5f);
  check_shortcuts<float>(90, 70, 1e-5f);
}

TEST_CASE("large products take the BLAS path and agree with Eigen", "[ops]") {
  const M a = random_matrix(70, 60, 11), b = random_matrix(60, 80, 12);
  Parameter<double> pa(a), pb(b);
  Tape<double> t;
  auto c = matmul(t.parameter(pa), t.parameter(pb));
  CHECK(c.value().isApprox(a * b, 1e-13));
  const M root_grad = random_matrix(70, 80, 13);
  t.backward(c, root_grad);
  CHECK(pa.grad.isApprox(root_grad * b.transpose(), 1e-13));
  CHECK(pb.grad.isApprox(a.transpose() * root_grad, 1e-13));
  auto g = crossprod(t.parameter(pa));
  CHECK(g.value().isApprox(a.transpose() * a, 1e-13));
}

TEST_CASE("the deprecated names gram and gram_rows still give crossprod and tcrossprod", "[ops]") {
  const M a = random_matrix(5, 3, 14);
  Parameter<double> pa(a);
  Tape<double> t;
  auto x = t.parameter(pa);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  auto g = gram(x);
  auto gr = gram_rows(x);
#pragma GCC diagnostic pop
  CHECK(g.value() == crossprod(x).value());
  CHECK(gr.value() == tcrossprod(x).value());
  CHECK(std::string(t.run_op_name(g.index())) == "crossprod");
  CHECK(std::string(t.run_op_name(gr.index())) == "tcrossprod");
}

TEST_CASE("shape mismatches name the op and both shapes", "[ops][errors]") {
  Tape<double> t;
  auto a = t.constant(M::Zero(3, 2));
  auto b = t.constant(M::Zero(3, 2));
  auto w = t.constant(M::Zero(2, 3));
  CHECK_THROWS_MATCHES(matmul(a, b), ShapeError, Catch::Message("matmul: cannot multiply 3x2 by 3x2"));
  CHECK_THROWS_MATCHES(
      add(a, w), ShapeError,
      Catch::Message("add: shapes 3x2 and 2x3 do not broadcast (each dimension must match or be 1)"));
  CHECK_THROWS_WITH(sub(a, w), Catch::Contains("sub: shapes 3x2 and 2x3"));
  CHECK_THROWS_WITH(mul(a, w), Catch::Contains("mul: shapes 3x2 and 2x3"));
  CHECK_THROWS_WITH(div(a, w), Catch::Contains("div: shapes 3x2 and 2x3"));
  CHECK_THROWS_WITH(mse(a, w), Catch::Contains("mse: shapes 3x2 and 2x3"));
  CHECK_THROWS_WITH(diag(a),
                    Catch::Contains("diag: expects a vector (1xn or nx1) or a square matrix, got 3x2"));
  CHECK_THROWS_WITH(scale_columns(a, t.constant(M::Zero(1, 3))),
                    Catch::Contains("scale_columns: cannot scale the columns of 3x2 by 1x3"));
  CHECK_THROWS_AS(mean(t.constant(M::Zero(0, 3))), ShapeError);
}

TEST_CASE("float and double give the same results", "[ops][float]") {
  const M a = random_matrix(5, 3, 21), b = random_matrix(3, 4, 22);
  Parameter<float> pa(a.cast<float>()), pb(b.cast<float>());
  Parameter<double> qa(a), qb(b);
  Tape<float> tf;
  Tape<double> td;
  auto lf = mean(tanh(matmul(tf.parameter(pa), tf.parameter(pb)))) + sum_squares(tf.parameter(pa));
  auto ld = mean(tanh(matmul(td.parameter(qa), td.parameter(qb)))) + sum_squares(td.parameter(qa));
  tf.backward(lf);
  td.backward(ld);
  CHECK(double(lf.value()(0, 0)) == Approx(ld.value()(0, 0)).epsilon(1e-6));
  CHECK(pa.grad.cast<double>().isApprox(qa.grad, 1e-5));
  CHECK(pb.grad.cast<double>().isApprox(qb.grad, 1e-5));
}

TEST_CASE("norm: no overflow at 1e200, no underflow at 1e-170 or in subnormals", "[ops]") {
  for (double scale : {1e200, 1e-170, 1e-310, 1.0}) {
    CAPTURE(scale);
    Parameter<double> p(M::Constant(2, 2, scale));
    Tape<double> t;
    auto n = norm(t.parameter(p));
    t.backward(n);
    CHECK(n.item() == Approx(2 * scale).epsilon(1e-12));  // ‖A‖_F of four equal entries
    for (Index i = 0; i < 4; ++i) CHECK(p.grad(i) == Approx(0.5).epsilon(1e-12));  // A / ‖A‖_F
  }
}

TEST_CASE("anomaly detection: after a caught NonFiniteError the tape runs again once the value is fixed",
          "[tape]") {
  Parameter<double> p(M::Constant(1, 2, -1.0));
  Tape<double> t;
  t.set_anomaly_detection(true);
  CHECK_THROWS_AS(log(t.parameter(p)), NonFiniteError);  // recorded eagerly: log(-1) is NaN
  // A fresh recording at a good value works,
  t.clear();
  p.value.setConstant(2.0);
  auto y = sum(log(t.parameter(p)));
  CHECK(y.item() == Approx(2 * std::log(2.0)));
  // and so does a replay after a failing one.
  p.value.setConstant(-3.0);
  CHECK_THROWS_AS(t.forward(), NonFiniteError);
  p.value.setConstant(1.0);
  t.forward();
  CHECK(y.item() == Approx(0.0));
  p.zero_grad();
  t.backward(y);
  CHECK(p.grad(0, 0) == Approx(1.0));
}
