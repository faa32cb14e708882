// A parameter resized after recording is caught by forward() and backward() (ShapeError naming
// it), instead of a heap overflow (4x4) or OpenBLAS's "illegal value" and a stale loss (64x64).
#include <catch2/catch.hpp>
#include <string>

#include "tapegrad/autodiff.hpp"

using namespace tapegrad;
using M = Matrix<double>;

TEST_CASE("forward() and backward() refuse a parameter resized since recording", "[tape][shapes]") {
  for (Index n : {4, 64}) {
    CAPTURE(n);
    Parameter<double> w(M::Random(n, n), "W");
    Tape<double> tape;
    auto x = tape.parameter(w);
    auto loss = sum(square(matmul(x, x)));
    tape.backward(loss);
    const double before = loss.value()(0, 0);
    w.value = M::Random(n + 3, n + 1);
    w.zero_grad();
    for (int pass = 0; pass < 2; ++pass) {
      try {
        if (pass == 0)
          tape.forward();
        else
          tape.backward(loss);
        FAIL("no ShapeError");
      } catch (const ShapeError& e) {
        const std::string what = e.what();
        CHECK(what.find(pass == 0 ? "forward" : "backward") != std::string::npos);
        CHECK(what.find("parameter 'W' is now " + std::to_string(n + 3) + "x" + std::to_string(n + 1) +
                        ", but the graph recorded it as " + std::to_string(n) + "x" + std::to_string(n)) !=
              std::string::npos);
      }
    }
    // Back to the recorded shape: the tape works again, with the new values.
    w.value = M::Identity(n, n);
    w.zero_grad();
    tape.forward();
    tape.backward(loss);
    CHECK(loss.value()(0, 0) == Approx(double(n)));
    CHECK(loss.value()(0, 0) != before);
    CHECK(w.grad.isApprox(4.0 * M::Identity(n, n)));
  }
}

TEMPLATE_TEST_CASE("gemm and syrk: every transpose, both sides of the BLAS threshold, and shape errors",
                   "[autodiff][gemm]", float, double) {
  using Mt = Matrix<TestType>;
  const TestType tol = std::is_same_v<TestType, float> ? TestType(1e-4) : TestType(1e-12);
  for (Index n : {3, 40}) {  // 3³ goes to Eigen, 40³ to BLAS (when built with it)
    CAPTURE(n);
    const Mt a = Mt::Random(n, n + 2), b = Mt::Random(n + 2, n + 1), bt = b.transpose();
    const Mt at = a.transpose(), c0 = Mt::Random(n, n + 1);
    const Mt want = TestType(2) * a * b + TestType(0.5) * c0;
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        CAPTURE(ta, tb);
        Mt c = c0;
        gemm(ta, tb, TestType(2), ta ? at : a, tb ? bt : b, TestType(0.5), c);
        CHECK((c - want).cwiseAbs().maxCoeff() <= tol * want.cwiseAbs().maxCoeff());
      }
    Mt g(n + 2, n + 2), h(n, n);
    syrk(false, TestType(1), a, TestType(0), g);  // AᵀA
    syrk(true, TestType(1), a, TestType(0), h);   // A Aᵀ
    CHECK((g - Mt(a.transpose() * a)).cwiseAbs().maxCoeff() <= tol * g.cwiseAbs().maxCoeff());
    CHECK((h - Mt(a * a.transpose())).cwiseAbs().maxCoeff() <= tol * h.cwiseAbs().maxCoeff());
    Mt wrong(n + 1, n + 1);
    CHECK_THROWS_AS(gemm(false, false, TestType(1), a, b, TestType(0), wrong), ShapeError);
    CHECK_THROWS_WITH(gemm(false, false, TestType(1), a, a, TestType(0), wrong),
                      Catch::Contains("gemm: operands") && Catch::Contains("do not give the output's shape"));
    CHECK_THROWS_AS(syrk(false, TestType(1), a, TestType(0), h), ShapeError);
  }
}
