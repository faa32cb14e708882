// The graph optimizer and ops that write gradients first (src/graph_optimizer.cpp, OpDef::first_write).
#include <catch2/catch.hpp>
#include <utility>
#include <vector>

#include "graph_optimizer_check.hpp"
#include "tapegrad/autodiff.hpp"

using namespace tapegrad;
using namespace tapegrad::test;

namespace {

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
        // the seed loss's shapes of use: scale_columns, matmul_nt, crossprod, tcrossprod, mse, scalar
        // multiples
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

}  // namespace

TEST_CASE("ops that write gradients first give the gradients of ops that add", "[optimizer]") {
  check_first_write<double>();
  check_first_write<float>();
}
