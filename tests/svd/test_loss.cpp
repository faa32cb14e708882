// The auto recipe's loss in its two forms: auto_loss_expanded (the top-k form, no m×n temporary) equals
// auto_loss − ½‖M‖²_F in value and gradient, its gradient passes finite differences, and auto_recipe_loss
// picks the form by shape.
#include <catch2/catch.hpp>

#include "tapegrad/svd/loss.hpp"

using namespace tapegrad;
using namespace tapegrad::svd;

namespace {

struct Evaluated {
  double value = 0;
  std::vector<Matrix<double>> grads;
};

template <class Loss>
Evaluated evaluate(Parameter<double>& u, Parameter<double>& s, Parameter<double>& v, Loss&& record) {
  Tape<double> tape;
  for (auto* p : {&u, &s, &v}) p->zero_grad();
  const Var<double> loss = record(tape);
  tape.backward(loss);
  return {loss.value()(0, 0), {u.grad, s.grad, v.grad}};
}

double max_rel_diff(const Matrix<double>& a, const Matrix<double>& b) {
  return (a - b).cwiseAbs().maxCoeff() / std::max(1.0, b.cwiseAbs().maxCoeff());
}

}  // namespace

TEST_CASE("auto_loss_expanded is auto_loss without ½‖M‖², value and gradient", "[svd][loss]") {
  // Shapes either side of the BLAS threshold, tall and wide, k from 1 to min(m, n).
  for (auto [m, n, k] :
       {std::tuple<Index, Index, Index>{7, 5, 2}, {5, 7, 5}, {40, 30, 4}, {120, 60, 10}, {30, 90, 1}}) {
    CAPTURE(m, n, k);
    const Matrix<double> M = Matrix<double>::Random(m, n);
    Parameter<double> u(Matrix<double>::Random(m, k)), s(Matrix<double>::Random(1, k)),
        v(Matrix<double>::Random(n, k));
    for (double mu : {0.0, 0.1, 1.0}) {
      CAPTURE(mu);
      const auto plain = evaluate(u, s, v, [&](Tape<double>& t) { return auto_loss(t, u, s, v, M, mu); });
      const auto expanded =
          evaluate(u, s, v, [&](Tape<double>& t) { return auto_loss_expanded(t, u, s, v, M, mu); });
      CHECK(std::abs(expanded.value + 0.5 * M.squaredNorm() - plain.value) <=
            1e-12 * std::max(1.0, M.squaredNorm()));
      for (std::size_t i = 0; i < 3; ++i) {
        CAPTURE(i);
        CHECK(max_rel_diff(expanded.grads[i], plain.grads[i]) <= 1e-12);
      }
    }
  }
}

TEST_CASE("auto_loss_expanded's gradient passes finite differences", "[svd][loss]") {
  // Every entry of U, s and V: (f(x + h) − f(x − h)) / 2h against the tape's gradient.
  const Matrix<double> M = Matrix<double>::Random(9, 6);
  Parameter<double> u(Matrix<double>::Random(9, 3)), s(Matrix<double>::Random(1, 3)),
      v(Matrix<double>::Random(6, 3));
  auto record = [&](Tape<double>& t) { return auto_loss_expanded(t, u, s, v, M, 0.1); };
  const auto at = evaluate(u, s, v, record);
  const double h = 1e-6;
  int checked = 0;
  for (std::size_t i = 0; i < 3; ++i) {
    Parameter<double>& p = i == 0 ? u : i == 1 ? s : v;
    for (Index e = 0; e < p.value.size(); ++e) {
      const double x = p.value(e);
      p.value(e) = x + h;
      const double up = evaluate(u, s, v, record).value;
      p.value(e) = x - h;
      const double down = evaluate(u, s, v, record).value;
      p.value(e) = x;
      const double numeric = (up - down) / (2 * h), analytic = at.grads[i](e);
      CAPTURE(i, e, analytic, numeric);
      CHECK(std::abs(analytic - numeric) <= 1e-7 + 1e-6 * std::abs(numeric));
      ++checked;
    }
  }
  CHECK(checked == 27 + 3 + 18);
}

TEST_CASE("auto_recipe_loss: the expanded form for top-k, the residual form for a full SVD", "[svd][loss]") {
  CHECK(auto_loss_expands(100, 50, 10));
  CHECK(auto_loss_expands(50, 100, 49));
  CHECK_FALSE(auto_loss_expands(100, 50, 50));
  CHECK_FALSE(auto_loss_expands(50, 100, 50));
  const Matrix<double> M = Matrix<double>::Random(20, 8);
  for (Index k : {Index(3), Index(8)}) {
    CAPTURE(k);
    Parameter<double> u(Matrix<double>::Random(20, k)), s(Matrix<double>::Random(1, k)),
        v(Matrix<double>::Random(8, k));
    const auto chosen =
        evaluate(u, s, v, [&](Tape<double>& t) { return auto_recipe_loss(t, u, s, v, M, 0.1); });
    const auto plain = evaluate(u, s, v, [&](Tape<double>& t) { return auto_loss(t, u, s, v, M, 0.1); });
    const double offset = k < 8 ? 0.5 * M.squaredNorm() : 0.0;
    CHECK(std::abs(chosen.value + offset - plain.value) <= 1e-12 * M.squaredNorm());
  }
}
