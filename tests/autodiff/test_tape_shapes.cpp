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
