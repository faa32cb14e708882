// Hessian-vector products (docs/second-order.md): check_hvp on every op that has second-order rules, in its
// literal and fused forms (graph optimizer on and off), the seed loss, the API (hvp(), HvpTape), float, and
// the error for an op without rules.
#include <catch2/catch.hpp>
#include <functional>
#include <stdexcept>
#include <string>

#include "tapegrad/autodiff.hpp"

using namespace tapegrad;

namespace {

using Fn = std::function<Var<double>(Tape<double>&, const std::vector<Var<double>>&)>;

Matrix<double> random_matrix(Index r, Index c, unsigned seed, double lo = -1, double hi = 1) {
  std::srand(seed);
  Matrix<double> m = Matrix<double>::Random(r, c);  // [-1, 1]
  return (m.array() + 1) * ((hi - lo) / 2) + lo;
}

// A scalar from a node whose Hessian exercises both terms of every tangent backward (Ġ from the square, and
// a general G from the fixed weights): ½‖y‖² + Σ R ∘ y.
Var<double> scalarize(Var<double> y) {
  auto r = y.tape().constant(random_matrix(y.rows(), y.cols(), 99));
  return sum_squares(y) * 0.5 + sum(mul(r, y));
}

// check_hvp with the graph optimizer on and off.
void expect_hvp(const std::string& name, const Fn& f, const std::vector<Matrix<double>>& inputs) {
  for (bool optimize : {true, false}) {
    INFO(name << (optimize ? " (optimized)" : " (as recorded)"));
    auto g = [&](Tape<double>& t, const std::vector<Var<double>>& x) {
      t.set_graph_optimization(optimize);
      return f(t, x);
    };
    const auto r = check_hvp(g, inputs);
    INFO(r.report());
    CHECK(r.ok);
    CHECK(r.checked > 0);
  }
}

Fn unary(Var<double> (*op)(Var<double>)) {
  return [op](Tape<double>&, const std::vector<Var<double>>& x) { return scalarize(op(x[0])); };
}

}  // namespace

TEST_CASE("check_hvp: elementwise ops of one input") {
  const auto x = random_matrix(3, 4, 1);
  const auto pos = random_matrix(3, 4, 2, 0.5, 2.0);
  expect_hvp("square", unary(square<double>), {x});
  expect_hvp("exp", unary(exp<double>), {x});
  expect_hvp("log", unary(log<double>), {pos});
  expect_hvp("sqrt", unary(sqrt<double>), {pos});
  expect_hvp("abs", unary(abs<double>), {x});
  expect_hvp("relu", unary(relu<double>), {x});
  expect_hvp("tanh", unary(tanh<double>), {x});
  expect_hvp("sigmoid", unary(sigmoid<double>), {x});
  expect_hvp("sin", unary(sin<double>), {x});
  expect_hvp("cos", unary(cos<double>), {x});
  expect_hvp("log1p", unary(log1p<double>), {pos});
  expect_hvp("expm1", unary(expm1<double>), {x});
  expect_hvp("softplus", unary(softplus<double>), {x});
  expect_hvp("neg", unary(neg<double>), {x});
  for (double p : {0.0, 1.0, 2.0, 3.0, 0.5, -1.5}) {
    expect_hvp("pow " + std::to_string(p),
               [p](Tape<double>&, const std::vector<Var<double>>& v) { return scalarize(pow(v[0], p)); },
               {pos});
  }
  expect_hvp("scalar forms",
             [](Tape<double>&, const std::vector<Var<double>>& v) {
               return scalarize(2.5 - (v[0] + 1.5) * 3.0) + sum(div(2.0, v[0]));
             },
             {pos});
}

TEST_CASE("check_hvp: binary ops, with broadcasting") {
  const auto a = random_matrix(3, 4, 3), b = random_matrix(3, 4, 4, 0.5, 2.0);
  const auto row = random_matrix(1, 4, 5, 0.5, 2.0), col = random_matrix(3, 1, 6, 0.5, 2.0);
  const auto one = random_matrix(1, 1, 7, 0.5, 2.0);
  using Op = Var<double> (*)(Var<double>, Var<double>);
  const std::pair<const char*, Op> ops[] = {
      {"add", add<double>}, {"sub", sub<double>}, {"mul", mul<double>}, {"div", div<double>}};
  for (const auto& [name, op] : ops) {
    for (const auto* other : {&b, &row, &col, &one}) {
      const Op f = op;
      expect_hvp(name,
                 [f](Tape<double>&, const std::vector<Var<double>>& v) { return scalarize(f(v[0], v[1])); },
                 {a, *other});
      // the broadcast operand first, and one input used twice
      expect_hvp(name,
                 [f](Tape<double>&, const std::vector<Var<double>>& v) { return scalarize(f(v[1], v[0])); },
                 {a, *other});
    }
    const Op f = op;
    expect_hvp(std::string(name) + "(x, x)",
               [f](Tape<double>&, const std::vector<Var<double>>& v) { return scalarize(f(v[0], v[0])); },
               {b});
    expect_hvp(std::string(name) + " with a constant",
               [f](Tape<double>& t, const std::vector<Var<double>>& v) {
                 return scalarize(f(v[0], t.constant(random_matrix(3, 4, 8, 0.5, 2.0))));
               },
               {b});
  }
}

TEST_CASE("check_hvp: activations of a sum (fused add_tanh, add_sigmoid, add_relu)") {
  const auto x = random_matrix(5, 3, 9), bias = random_matrix(1, 3, 10);
  using Act = Var<double> (*)(Var<double>);
  for (Act act : {Act(tanh<double>), Act(sigmoid<double>), Act(relu<double>)}) {
    expect_hvp(
        "act(x + b)",
        [act](Tape<double>&, const std::vector<Var<double>>& v) { return scalarize(act(v[0] + v[1])); },
        {x, bias});
    expect_hvp(
        "act(b + x)",
        [act](Tape<double>&, const std::vector<Var<double>>& v) { return scalarize(act(v[1] + v[0])); },
        {x, bias});
  }
}

TEST_CASE("check_hvp: products, transposes, diag and the fused matrix ops") {
  const auto a = random_matrix(4, 3, 11), b = random_matrix(3, 5, 12), c = random_matrix(5, 3, 13);
  const auto v3 = random_matrix(3, 1, 14), v4 = random_matrix(1, 4, 15), sq = random_matrix(3, 3, 16);
  expect_hvp("matmul",
             [](Tape<double>&, const std::vector<Var<double>>& x) { return scalarize(matmul(x[0], x[1])); },
             {a, b});
  expect_hvp("matmul_tn",
             [](Tape<double>&, const std::vector<Var<double>>& x) {
               return scalarize(matmul(transpose(x[0]), x[1]));
             },
             {a, random_matrix(4, 2, 17)});
  expect_hvp("matmul_nt",
             [](Tape<double>&, const std::vector<Var<double>>& x) {
               return scalarize(matmul(x[0], transpose(x[1])));
             },
             {a, c});
  expect_hvp(
      "matmul_nt (named)",
      [](Tape<double>&, const std::vector<Var<double>>& x) { return scalarize(matmul_nt(x[0], x[1])); },
      {a, c});
  expect_hvp("matmul_tt",
             [](Tape<double>&, const std::vector<Var<double>>& x) {
               return scalarize(matmul(transpose(x[0]), transpose(x[1])));
             },
             {b, random_matrix(2, 3, 18)});
  expect_hvp("matmul with a constant",
             [](Tape<double>& t, const std::vector<Var<double>>& x) {
               return scalarize(matmul(t.constant(random_matrix(2, 4, 19)), x[0]));
             },
             {a});
  expect_hvp("transpose (kept)",
             [](Tape<double>&, const std::vector<Var<double>>& x) { return scalarize(transpose(x[0])); },
             {a});
  expect_hvp("gram",
             [](Tape<double>&, const std::vector<Var<double>>& x) {
               return scalarize(matmul(transpose(x[0]), x[0]));
             },
             {a});
  expect_hvp("gram (named)",
             [](Tape<double>&, const std::vector<Var<double>>& x) { return scalarize(gram(x[0])); }, {a});
  expect_hvp("gram_rows",
             [](Tape<double>&, const std::vector<Var<double>>& x) {
               return scalarize(matmul(x[0], transpose(x[0])));
             },
             {a});
  expect_hvp("gram_rows (named)",
             [](Tape<double>&, const std::vector<Var<double>>& x) { return scalarize(gram_rows(x[0])); },
             {a});
  expect_hvp(
      "scale_columns",
      [](Tape<double>&, const std::vector<Var<double>>& x) { return scalarize(matmul(x[0], diag(x[1]))); },
      {a, v3});
  expect_hvp(
      "scale_columns (named)",
      [](Tape<double>&, const std::vector<Var<double>>& x) { return scalarize(scale_columns(x[0], x[1])); },
      {a, v3});
  expect_hvp(
      "scale_rows",
      [](Tape<double>&, const std::vector<Var<double>>& x) { return scalarize(matmul(diag(x[1]), x[0])); },
      {a, v4});
  expect_hvp(
      "scale_rows (named)",
      [](Tape<double>&, const std::vector<Var<double>>& x) { return scalarize(scale_rows(x[1], x[0])); },
      {a, v4});
  expect_hvp("diag (kept)",
             [](Tape<double>&, const std::vector<Var<double>>& x) { return scalarize(diag(x[0])); }, {v3});
  expect_hvp("diagonal",
             [](Tape<double>&, const std::vector<Var<double>>& x) { return scalarize(diag(square(x[0]))); },
             {sq});
}

TEST_CASE("check_hvp: reductions and losses, literal and fused") {
  const auto a = random_matrix(4, 3, 20), b = random_matrix(4, 3, 21);
  using R = Var<double> (*)(Var<double>);
  const std::pair<const char*, R> reductions[] = {{"sum", sum<double>},
                                                  {"mean", mean<double>},
                                                  {"rowwise_sum", rowwise_sum<double>},
                                                  {"colwise_sum", colwise_sum<double>},
                                                  {"rowwise_mean", rowwise_mean<double>},
                                                  {"colwise_mean", colwise_mean<double>},
                                                  {"norm", norm<double>},
                                                  {"sum_squares", sum_squares<double>}};
  for (const auto& [name, r] : reductions) {
    const R f = r;
    expect_hvp(name,
               [f](Tape<double>&, const std::vector<Var<double>>& x) { return scalarize(f(tanh(x[0]))); },
               {a});
  }
  const std::
      pair<const char*, Fn>
          losses
              [] =
                  {
                      {"mean(square(a - b)) (mse)",
                       [](Tape<double>&, const std::vector<Var<double>>& x) {
                         return mean(square(x[0] - x[1])) * 3.0;
                       }},
                      {"sum(square(a - b))",
                       [](Tape<double>&, const std::vector<Var<double>>& x) {
                         return sum(square(x[0] - x[1]));
                       }},
                      {"sum_squares(a - b)",
                       [](Tape<double>&, const std::vector<Var<double>>& x) {
                         return sum_squares(x[0] - x[1]);
                       }},
                      {"mean(square(a)), sum(square(a))",
                       [](Tape<double>&, const std::vector<Var<double>>& x) {
                         return mean(square(x[0])) + sum(square(x[1]));
                       }},
                      {"mse (named) of nonlinear inputs",
                       [](Tape<double>&, const std::vector<Var<double>>& x) {
                         return mse(tanh(x[0]), sin(x[1]));
                       }},
                      {"mse (named), one side constant",
                       [](Tape<double>& t, const std::vector<Var<double>>& x) {
                         return mse(t.constant(random_matrix(4, 3, 22)), exp(x[0])) +
                                mse(sigmoid(x[1]), t.constant(random_matrix(4, 3, 23)));
                       }},
                  };
  for (const auto& [name, f] : losses) expect_hvp(name, f, {a, b});
}

TEST_CASE("check_hvp: softmax, logsumexp and the classification losses") {
  const auto x = random_matrix(4, 3, 24, -2, 2), y = random_matrix(4, 3, 25, 0.1, 1.0);
  expect_hvp("rowwise_softmax", unary(rowwise_softmax<double>), {x});
  expect_hvp("colwise_softmax", unary(colwise_softmax<double>), {x});
  expect_hvp("rowwise_log_softmax", unary(rowwise_log_softmax<double>), {x});
  expect_hvp("colwise_log_softmax", unary(colwise_log_softmax<double>), {x});
  expect_hvp(
      "log(rowwise_softmax) (fused log_softmax)",
      [](Tape<double>&, const std::vector<Var<double>>& v) { return scalarize(log(rowwise_softmax(v[0]))); },
      {x});
  expect_hvp("logsumexp", unary(logsumexp<double>), {x});
  expect_hvp("rowwise_logsumexp", unary(rowwise_logsumexp<double>), {x});
  expect_hvp("colwise_logsumexp", unary(colwise_logsumexp<double>), {x});
  expect_hvp("cross_entropy (labels)",
             [](Tape<double>&, const std::vector<Var<double>>& v) {
               return cross_entropy(tanh(v[0]) * 2.0, std::vector<Index>{0, 2, 1, 2});
             },
             {x});
  expect_hvp("cross_entropy (target)",
             [](Tape<double>&, const std::vector<Var<double>>& v) {
               return cross_entropy(matmul(v[0], v[1]), sigmoid(v[1]));
             },
             {random_matrix(4, 4, 26), y});
  expect_hvp("-mean(rowwise_sum(y * log(rowwise_softmax(x)))) (fused)",
             [](Tape<double>&, const std::vector<Var<double>>& v) {
               return -mean(rowwise_sum(mul(square(v[1]), log(rowwise_softmax(v[0])))));
             },
             {x, y});
  expect_hvp("binary_cross_entropy_with_logits",
             [](Tape<double>&, const std::vector<Var<double>>& v) {
               return binary_cross_entropy_with_logits(v[0] * 3.0, sigmoid(v[1]));
             },
             {x, y});
}

TEST_CASE("check_hvp: shaping ops") {
  const auto a = random_matrix(4, 3, 27), b = random_matrix(2, 3, 28);
  expect_hvp(
      "cat dim 0",
      [](Tape<double>&, const std::vector<Var<double>>& v) { return scalarize(tanh(cat(v[0], v[1], 0))); },
      {a, b});
  expect_hvp("cat dim 1",
             [](Tape<double>&, const std::vector<Var<double>>& v) {
               return scalarize(tanh(cat(v[0], transpose(v[1]), 1)));
             },
             {random_matrix(3, 4, 29), b});
  expect_hvp("narrow",
             [](Tape<double>&, const std::vector<Var<double>>& v) {
               return scalarize(mul(narrow(v[0], 0, 1, 2), transpose(narrow(v[0], 1, 1, 2)) * 0.5 + 1.0));
             },
             {random_matrix(3, 3, 34)});
  expect_hvp("index_select",
             [](Tape<double>&, const std::vector<Var<double>>& v) {
               return scalarize(sin(index_select(v[0], 0, {3, 0, 3, 1})));
             },
             {a});
  expect_hvp("index_select columns",
             [](Tape<double>&, const std::vector<Var<double>>& v) {
               return scalarize(exp(index_select(v[0], 1, {2, 2, 0})));
             },
             {a});
  expect_hvp("reshape",
             [](Tape<double>&, const std::vector<Var<double>>& v) {
               return scalarize(matmul(reshape(v[0], 3, 4), v[0]));
             },
             {a});
}

TEST_CASE("check_hvp: pow with a matrix exponent") {
  expect_hvp("pow(a, b)",
             [](Tape<double>&, const std::vector<Var<double>>& v) {
               return scalarize(pow(square(v[0]) + 0.5, v[1]));
             },
             {random_matrix(3, 4, 37), random_matrix(3, 4, 38, -2, 2)});
  expect_hvp("pow(a, a)",
             [](Tape<double>&, const std::vector<Var<double>>& v) { return scalarize(pow(v[0], v[0])); },
             {random_matrix(3, 4, 39, 0.5, 2)});
}

TEST_CASE("check_hvp: max, min and clamp (piecewise linear)") {
  const auto a = random_matrix(4, 3, 35), b = random_matrix(4, 3, 36);
  using U = Var<double> (*)(Var<double>);
  for (U f : {U(max<double>), U(min<double>), U(rowwise_max<double>), U(colwise_max<double>),
              U(rowwise_min<double>), U(colwise_min<double>)}) {
    expect_hvp("extreme",
               [f](Tape<double>&, const std::vector<Var<double>>& v) { return scalarize(f(sin(v[0]))); },
               {a});
  }
  expect_hvp("maximum",
             [](Tape<double>&, const std::vector<Var<double>>& v) {
               return scalarize(maximum(tanh(v[0]), square(v[1])));
             },
             {a, b});
  expect_hvp("minimum",
             [](Tape<double>&, const std::vector<Var<double>>& v) {
               return scalarize(minimum(tanh(v[0]), square(v[1])));
             },
             {a, b});
  expect_hvp(
      "clamp",
      [](Tape<double>&, const std::vector<Var<double>>& v) { return scalarize(clamp(exp(v[0]), 0.8, 1.5)); },
      {a});
}

TEST_CASE("check_hvp: the seed loss (fused: scale_columns, matmul_nt, gram, gram_rows, mse)") {
  const Index m = 5, n = 4, k = 3;
  const Matrix<double> M = random_matrix(m, n, 30);
  auto seed = [M, n, k](Tape<double>& t, const std::vector<Var<double>>& x) {
    auto U = x[0], d = x[1], V = x[2];
    auto Mc = t.constant_view(M, "M");
    auto Ik = t.constant(Matrix<double>::Identity(k, k)), In = t.constant(Matrix<double>::Identity(n, n));
    auto fit = mean(square(matmul(matmul(U, diag(square(d))), transpose(V)) - Mc));
    auto orth_u = mean(square(matmul(transpose(U), U) - Ik));
    auto orth_v = mean(square(matmul(V, transpose(V)) - In));
    return fit + orth_u / 100.0 + orth_v / 100.0;
  };
  const std::vector<Matrix<double>> x = {random_matrix(m, k, 31), random_matrix(k, 1, 32),
                                         random_matrix(n, k, 33)};
  expect_hvp("seed loss", seed, x);

  // The optimized plan runs the fused ops, and HVPs go through them.
  std::vector<Parameter<double>> ps = {Parameter<double>(x[0]), Parameter<double>(x[1]),
                                       Parameter<double>(x[2])};
  std::vector<Parameter<double>*> ptrs = {&ps[0], &ps[1], &ps[2]};
  HvpTape<double> h(
      [&](Tape<double>& t) {
        return seed(t, {t.parameter(ps[0]), t.parameter(ps[1]), t.parameter(ps[2])});
      },
      ptrs);
  (void)h.gradient();
  std::string ran;
  for (std::uint32_t i = 0; i < h.tape().size(); ++i)
    if (h.tape().runs(i)) ran += std::string(h.tape().run_op_name(i)) + " ";
  INFO(ran);
  for (const char* op : {"scale_columns", "matmul_nt", "gram", "gram_rows", "mse"})
    CHECK(ran.find(std::string(op) + " ") != std::string::npos);
}

TEST_CASE(
    "hvp(): loss, gradient and H v against a quadratic in closed form, Parameter::grad untouched, HvpTape "
    "replays") {
  // f(x, y) = ½ xᵀ A x + (x·y)², with A symmetric: H = [[A + 2yyᵀ, 2(xyᵀ + (x·y) I)], [..., 2xxᵀ]].
  const Matrix<double> A = [] {
    Matrix<double> r = random_matrix(3, 3, 40);
    return Matrix<double>(r + r.transpose());
  }();
  Parameter<double> x(random_matrix(3, 1, 41)), y(random_matrix(3, 1, 42));
  x.grad.setConstant(7.0);
  auto f = [&](Tape<double>& t) {
    auto X = t.parameter(x), Y = t.parameter(y);
    auto q = matmul(transpose(X), matmul(t.constant(A), X)) * 0.5;
    return q + square(matmul(transpose(X), Y));
  };
  const Matrix<double> vx = random_matrix(3, 1, 43), vy = random_matrix(3, 1, 44);
  const auto r = hvp(f, std::vector<Parameter<double>*>{&x, &y}, {vx, vy});
  const Matrix<double>&X = x.value, &Y = y.value;
  const double xy = X.cwiseProduct(Y).sum();
  const Matrix<double> I = Matrix<double>::Identity(3, 3);
  const Matrix<double> hxx = A + 2 * Y * Y.transpose(), hxy = 2 * (Y * X.transpose() + xy * I);
  const Matrix<double> hyy = 2 * X * X.transpose();
  const Matrix<double> ex = hxx * vx + hxy * vy, ey = hxy.transpose() * vx + hyy * vy;
  CHECK((r.hv[0] - ex).norm() < 1e-12 * (1 + ex.norm()));
  CHECK((r.hv[1] - ey).norm() < 1e-12 * (1 + ey.norm()));
  CHECK(r.loss == Approx(0.5 * X.cwiseProduct(A * X).sum() + xy * xy).epsilon(1e-12));
  const Matrix<double> gx = A * X + 2 * xy * Y, gy = 2 * xy * X;
  CHECK((r.gradient[0] - gx).norm() < 1e-12 * (1 + gx.norm()));
  CHECK((r.gradient[1] - gy).norm() < 1e-12 * (1 + gy.norm()));
  CHECK((x.grad.array() == 7.0).all());  // the user's accumulated gradient is left alone
  CHECK(y.grad.isZero());

  // HvpTape: many directions at one point, then a new point (recomputed, the same as a fresh one).
  HvpTape<double> h(f, {&x, &y});
  for (unsigned s = 0; s < 3; ++s) {
    const Matrix<double> dx = random_matrix(3, 1, 50 + s), dy = random_matrix(3, 1, 60 + s);
    const auto& hv = h.hvp({dx, dy});
    CHECK((hv[0] - (hxx * dx + hxy * dy)).norm() < 1e-12 * (1 + hv[0].norm()));
    CHECK((hv[1] - (hxy.transpose() * dx + hyy * dy)).norm() < 1e-12 * (1 + hv[1].norm()));
  }
  x.value(0, 0) += 0.5;
  const auto fresh = hvp(f, std::vector<Parameter<double>*>{&x, &y}, {vx, vy});
  const auto& again = h.hvp({vx, vy});
  CHECK((again[0] - fresh.hv[0]).norm() < 1e-13 * (1 + fresh.hv[0].norm()));
  CHECK((again[1] - fresh.hv[1]).norm() < 1e-13 * (1 + fresh.hv[1].norm()));
  CHECK(h.loss() == Approx(fresh.loss).epsilon(1e-14));
  CHECK((h.gradient()[0] - fresh.gradient[0]).norm() < 1e-13);
  // Steps that move one parameter, then the other, then none (only the moved ones are re-snapshotted; the
  // constant's zero tangent is written once): each HvpTape product equals a fresh one.
  for (int step = 0; step < 5; ++step) {
    if (step % 3 == 0) y.value(1, 0) -= 0.25;
    if (step % 3 == 1) x.value(2, 0) += 0.125;
    const auto ref = hvp(f, std::vector<Parameter<double>*>{&x, &y}, {vy, vx});
    const auto& got = h.hvp({vy, vx});
    CHECK((got[0] - ref.hv[0]).norm() < 1e-13 * (1 + ref.hv[0].norm()));
    CHECK((got[1] - ref.hv[1]).norm() < 1e-13 * (1 + ref.hv[1].norm()));
    CHECK((h.gradient()[1] - ref.gradient[1]).norm() < 1e-13 * (1 + ref.gradient[1].norm()));
  }
  // Only the listed parameters move: y held fixed.
  const auto both = hvp(f, std::vector<Parameter<double>*>{&x, &y}, {vx, vy});
  const auto only_x = hvp(f, std::vector<Parameter<double>*>{&x}, {vx});
  CHECK((only_x.hv[0] - both.hv[0] + (2 * (Y * x.value.transpose() + x.value.cwiseProduct(Y).sum() * I)) * vy)
            .norm() < 1e-12);
}

TEST_CASE("hessian(): the dense Hessian from HVPs, entries column-major, parameters in order") {
  // f(X, y) = ½ Σ_j x_jᵀ A x_j + Σ_ij (x_ij y_j)²: each column agrees with hvp() in that unit direction, and
  // the X-X blocks with their closed form.
  const Matrix<double> A = random_matrix(3, 3, 100);
  Parameter<double> x(random_matrix(3, 2, 101)), y(random_matrix(1, 2, 102));
  auto f = [&](Tape<double>& t) {
    auto X = t.parameter(x), Y = t.parameter(y);
    return sum(mul(X, matmul(t.constant(A), X))) * 0.5 + sum_squares(mul(X, Y));
  };
  const Matrix<double> H = hessian(f, std::vector<Parameter<double>*>{&x, &y});
  REQUIRE(H.rows() == 8);
  REQUIRE(H.cols() == 8);
  CHECK((H - H.transpose()).norm() < 1e-12 * H.norm());
  // Each column is H times a unit vector: compare with hvp() in that direction.
  for (Index c = 0; c < 8; ++c) {
    Matrix<double> vx = Matrix<double>::Zero(3, 2), vy = Matrix<double>::Zero(1, 2);
    if (c < 6)
      vx.data()[c] = 1;
    else
      vy.data()[c - 6] = 1;
    const auto r = hvp(f, std::vector<Parameter<double>*>{&x, &y}, {vx, vy});
    Matrix<double> col(8, 1);
    col << r.hv[0].reshaped(), r.hv[1].reshaped();
    CHECK((H.col(c) - col).norm() <= 1e-14 * (1 + col.norm()));
  }
  // The x-x block in closed form: column j of X couples through (A + Aᵀ)/2 + 2 y_j² I.
  const Matrix<double> S = (A + A.transpose()) / 2;
  for (Index j = 0; j < 2; ++j) {
    const Matrix<double> block = S + 2 * y.value(0, j) * y.value(0, j) * Matrix<double>::Identity(3, 3);
    CHECK((H.block(3 * j, 3 * j, 3, 3) - block).norm() < 1e-12);
  }
  CHECK(H.block(0, 3, 3, 3).norm() < 1e-14);  // columns of X do not couple
}

TEST_CASE("hvp: an op without second-order rules throws std::logic_error naming it") {
  Parameter<double> x(random_matrix(2, 3, 70));
  // A user's op, written with the function-pointer form of record (no OpDef, no second-order rules).
  auto f = [&](Tape<double>& t) {
    auto y = t.record(
        "my_double", {t.parameter(x)}, 2, 3, [](OpContext<double>& c) { c.out() = 2.0 * c.in(0); },
        [](OpContext<double>& c) { c.grad_in(0) += 2.0 * c.grad_out(); });
    return sum(square(y));
  };
  const Matrix<double> v = random_matrix(2, 3, 71);
  CHECK_THROWS_AS(hvp(f, std::vector<Parameter<double>*>{&x}, {v}), std::logic_error);
  try {
    hvp(f, std::vector<Parameter<double>*>{&x}, {v});
  } catch (const std::logic_error& e) {
    CHECK(std::string(e.what()).find("'my_double'") != std::string::npos);
  }
  // Bad directions.
  auto g = [&](Tape<double>& t) { return sum(square(t.parameter(x))); };
  CHECK_THROWS_AS(hvp(g, std::vector<Parameter<double>*>{&x}, {Matrix<double>(3, 2)}), ShapeError);
  CHECK_THROWS_AS(hvp(g, std::vector<Parameter<double>*>{&x}, {}), std::invalid_argument);
}

TEST_CASE("hvp: first-write gradients (an input reached by several ops) and shared subexpressions") {
  // x feeds matmul (first-write), mul_scalar (first-write) and tanh (adds); s is shared by three consumers.
  const auto x = random_matrix(3, 3, 80), w = random_matrix(3, 3, 81);
  expect_hvp("first-write mix",
             [](Tape<double>&, const std::vector<Var<double>>& v) {
               auto s = matmul(v[0], v[1]);
               auto u = s * 2.0 + tanh(v[0]) + mul(s, s);
               return scalarize(u) + mse(s, v[0] * 0.5) + sum_squares(transpose(s));
             },
             {x, w});
}

TEST_CASE("hvp: float agrees with double") {
  const Matrix<double> a = random_matrix(4, 3, 90), v = random_matrix(4, 3, 91);
  Parameter<double> pd(a);
  Parameter<float> pf(a.cast<float>());
  auto fd = [&](Tape<double>& t) {
    return mean(square(matmul(transpose(t.parameter(pd)), t.parameter(pd)))) + sum(tanh(t.parameter(pd)));
  };
  auto ff = [&](Tape<float>& t) {
    return mean(square(matmul(transpose(t.parameter(pf)), t.parameter(pf)))) + sum(tanh(t.parameter(pf)));
  };
  const auto rd = hvp(fd, std::vector<Parameter<double>*>{&pd}, {v});
  const auto rf = hvp(ff, std::vector<Parameter<float>*>{&pf}, {Matrix<float>(v.cast<float>())});
  CHECK((rf.hv[0].cast<double>() - rd.hv[0]).norm() < 1e-4 * (1 + rd.hv[0].norm()));
  CHECK(rd.hv[0].norm() > 0.1);
}

TEST_CASE("HvpTape on a borrowed tape: re-recorded, stepped away and back, still the product at the point") {
  // The point check compares the parameters with the last point's snapshot; after a recomputation forced
  // by more recording, that snapshot must be the new point, or a step back would pass for "unchanged".
  // (Here the tape's re-planning also forces a recomputation, so this passes with a stale snapshot too;
  // HvpTape::at_point compares on every call, which keeps the snapshot exact by construction.)
  Parameter<double> x(random_matrix(3, 1, 90));
  Tape<double> tape;
  const Matrix<double> a = random_matrix(3, 3, 91);
  auto f = [&](Tape<double>& t) {
    auto X = t.parameter(x);
    return sum(square(tanh(matmul(t.constant(a), X))));
  };
  auto loss = f(tape);
  HvpTape<double> h(tape, loss, {&x});
  const Matrix<double> v = random_matrix(3, 1, 92), at_a = x.value;
  auto expect_fresh = [&] {
    const auto ref = hvp(f, std::vector<Parameter<double>*>{&x}, {v});
    const auto& got = h.hvp({v});
    CHECK((got[0] - ref.hv[0]).norm() < 1e-13 * (1 + ref.hv[0].norm()));
    CHECK((h.gradient()[0] - ref.gradient[0]).norm() < 1e-13 * (1 + ref.gradient[0].norm()));
  };
  expect_fresh();
  expect_fresh();                // the same point: nothing moved
  (void)sum(tape.parameter(x));  // more recording on the borrowed tape
  x.value(0, 0) += 0.5;
  expect_fresh();
  x.value = at_a;  // back to the first point
  expect_fresh();
}
