// A training step made of the ops PyTorch users reach for first (cat, softmax, cross_entropy, ...) allocates
// nothing once the tape's buffers exist: re-recorded after clear() (with the graph optimizer on and off) and
// replayed with forward(). Its own executable, as it counts malloc calls (count_allocations.hpp).
#include <catch2/catch.hpp>

#include "count_allocations.hpp"
#include "tapegrad/autodiff.hpp"

using namespace tapegrad;

namespace {

template <class T>
Var<T> step_loss(Tape<T>& t, Parameter<T>& w, Parameter<T>& b, const Matrix<T>& x, const Matrix<T>& target,
                 const std::vector<Index>& labels, const std::vector<Index>& rows) {
  auto logits = matmul(t.constant(x), t.parameter(w)) + t.parameter(b);  // n x 4
  auto joined = cat(narrow(logits, 1, 0, 2), softplus(narrow(logits, 1, 2, 2)), 1);
  auto picked = index_select(joined, 0, rows);
  auto literal = -mean(rowwise_sum(mul(t.constant(target), log(rowwise_softmax(logits)))));
  auto terms = cross_entropy(logits, labels) + literal + mean(clamp(sin(picked), T(-0.5), T(0.5)));
  terms =
      terms + binary_cross_entropy_with_logits(logits, sigmoid(t.constant(target))) + logsumexp(cos(joined));
  terms = terms + sum(colwise_logsumexp(expm1(reshape(logits, 4, x.rows()) * T(0.1)))) + max(logits) -
          sum(rowwise_min(colwise_log_softmax(logits))) + mean(maximum(logits, log1p(square(logits))));
  return terms + mean(pow(sigmoid(logits) + T(0.5), t.constant(target)));
}

template <class T>
void check_no_allocation() {
  const Index n = 300;
  Matrix<T> x = Matrix<T>::Random(n, 3), target = Matrix<T>::Zero(n, 4);
  std::vector<Index> labels, rows;
  for (Index i = 0; i < n; ++i) {
    labels.push_back(i % 4);
    target(i, i % 4) = 1;
    rows.push_back((i * 7) % n);
  }
  Parameter<T> w(Matrix<T>::Random(3, 4)), b(Matrix<T>::Zero(1, 4));
  for (bool optimize : {true, false}) {
    CAPTURE(optimize);
    Tape<T> t;
    t.set_graph_optimization(optimize);
    auto step = [&] {
      t.clear();
      w.zero_grad();
      b.zero_grad();
      t.backward(step_loss(t, w, b, x, target, labels, rows));
    };
    for (int k = 0; k < 3; ++k) step();  // sizes every buffer (and the scratch arrays)
    g_allocations = 0;
    g_counting = true;
    for (int k = 0; k < 3; ++k) step();
    g_counting = false;
    CHECK(g_allocations.load() == 0);
    // Recorded once, replayed with forward().
    t.clear();
    auto loss = step_loss(t, w, b, x, target, labels, rows);
    auto replay = [&] {
      t.forward();
      w.zero_grad();
      b.zero_grad();
      t.backward(loss);
    };
    for (int k = 0; k < 3; ++k) replay();
    g_allocations = 0;
    g_counting = true;
    for (int k = 0; k < 3; ++k) replay();
    g_counting = false;
    CHECK(g_allocations.load() == 0);
  }
}

}  // namespace

TEMPLATE_TEST_CASE("a training step of the new ops allocates nothing after the first ones",
                   "[new-ops][alloc]", float, double) {
  if (!TAPEGRAD_COUNT_ALLOCATIONS) {
    WARN("allocation counting is off in this build (sanitizer or non-glibc)");
    return;
  }
  check_no_allocation<TestType>();
}
