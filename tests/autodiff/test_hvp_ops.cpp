// check_hvp on every op that has second-order rules (docs/second-order.md), in its literal and fused forms
// (graph optimizer on and off): elementwise, binary with broadcasting, products and the fused matrix ops,
// reductions and losses, softmax, shaping, max/min/clamp, the seed loss, and first-write gradients.
#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

#include "hvp_check.hpp"
#include "tapegrad/autodiff.hpp"

using namespace tapegrad;
using namespace tapegrad::test;

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
  expect_hvp("crossprod",
             [](Tape<double>&, const std::vector<Var<double>>& x) {
               return scalarize(matmul(transpose(x[0]), x[0]));
             },
             {a});
  expect_hvp("crossprod (named)",
             [](Tape<double>&, const std::vector<Var<double>>& x) { return scalarize(crossprod(x[0])); },
             {a});
  expect_hvp("tcrossprod",
             [](Tape<double>&, const std::vector<Var<double>>& x) {
               return scalarize(matmul(x[0], transpose(x[0])));
             },
             {a});
  expect_hvp("tcrossprod (named)",
             [](Tape<double>&, const std::vector<Var<double>>& x) { return scalarize(tcrossprod(x[0])); },
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

TEST_CASE("check_hvp: the seed loss (fused: scale_columns, matmul_nt, crossprod, tcrossprod, mse)") {
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
  for (const char* op : {"scale_columns", "matmul_nt", "crossprod", "tcrossprod", "mse"})
    CHECK(ran.find(std::string(op) + " ") != std::string::npos);
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
