// The Hessian-vector product API (docs/second-order.md): hvp() and HvpTape against closed forms, hessian(),
// the error for an op without second-order rules, float against double, and HvpTape on a borrowed tape.
#include <catch2/catch.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "hvp_check.hpp"
#include "tapegrad/autodiff.hpp"

using namespace tapegrad;
using namespace tapegrad::test;

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
