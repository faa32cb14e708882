// docs/adding-an-op.md: a new op, my_softplus(A) = log(1 + exp(A)), written with Tape::record (the library
// has its own softplus, vectorised; this is how one is written outside it).
#include <cstdio>

#include "tapegrad/autodiff.hpp"

using namespace tapegrad;

/// my_softplus(A) = log(1 + exp(A)), elementwise: a smooth relu.
template <class T>
Var<T> my_softplus(Var<T> a) {
  // C = log(1 + exp(A))   =>   dA += sigmoid(A) ∘ dC
  return a.tape().record(
      "my_softplus", {a}, a.rows(), a.cols(),
      // Forward: computed as max(A, 0) + log(1 + exp(-|A|)), which never overflows.
      [](OpContext<T>& c) { c.out() = c.in(0).array().max(T(0)) + (-c.in(0).array().abs()).exp().log1p(); },
      // Backward: add into grad_in(k), and only for the inputs that need a gradient.
      [](OpContext<T>& c) {
        if (!c.needs_grad(0)) return;
        c.grad_in(0).array() += c.grad_out().array() / (T(1) + (-c.in(0).array()).exp());
      });
}

int main() {
  bool ok = true;
  // Check the derivative against finite differences on every kind of shape, as tests/autodiff does.
  for (auto [rows, cols] : {std::pair{1, 1}, {1, 5}, {5, 1}, {4, 4}, {6, 3}, {3, 6}}) {
    GradCheckResult r =
        check_gradients([](Tape<double>&, const std::vector<Var<double>>& in) { return my_softplus(in[0]); },
                        {Matrix<double>::Random(rows, cols) * 4});
    std::printf("my_softplus %dx%d: %s\n", rows, cols, r.ok ? "ok" : r.report().c_str());
    ok = ok && r.ok;
  }

  // It composes with the other ops, and is finite where the naive formula overflows.
  Tape<float> tape;
  Matrix<float> big(1, 3);
  big << -100.0f, 0.0f, 100.0f;
  Var<float> y = my_softplus(tape.constant(big));
  std::printf("my_softplus(-100, 0, 100) = %g %g %g (op \"%s\")\n", y.value()(0, 0), y.value()(0, 1),
              y.value()(0, 2), y.op_name());
  ok = ok && y.value().allFinite() && std::abs(y.value()(0, 2) - 100.0f) < 1e-4f;
  return ok ? 0 : 1;
}
