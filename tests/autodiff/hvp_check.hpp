// Helpers of the Hessian-vector product tests (test_hvp_*.cpp): check_hvp with the graph optimizer on and
// off (expect_hvp), and a scalar from a node whose Hessian exercises every tangent backward (scalarize).
#pragma once

#include <catch2/catch.hpp>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "tapegrad/autodiff.hpp"

namespace tapegrad::test {

using Fn = std::function<Var<double>(Tape<double>&, const std::vector<Var<double>>&)>;

inline Matrix<double> random_matrix(Index r, Index c, unsigned seed, double lo = -1, double hi = 1) {
  std::srand(seed);
  Matrix<double> m = Matrix<double>::Random(r, c);  // [-1, 1]
  return (m.array() + 1) * ((hi - lo) / 2) + lo;
}

// A scalar from a node whose Hessian exercises both terms of every tangent backward (Ġ from the square, and
// a general G from the fixed weights): ½‖y‖² + Σ R ∘ y.
inline Var<double> scalarize(Var<double> y) {
  auto r = y.tape().constant(random_matrix(y.rows(), y.cols(), 99));
  return sum_squares(y) * 0.5 + sum(mul(r, y));
}

// check_hvp with the graph optimizer on and off.
inline void expect_hvp(const std::string& name, const Fn& f, const std::vector<Matrix<double>>& inputs) {
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

inline Fn unary(Var<double> (*op)(Var<double>)) {
  return [op](Tape<double>&, const std::vector<Var<double>>& x) { return scalarize(op(x[0])); };
}

}  // namespace tapegrad::test
