// Replayed Hessian-vector products allocate nothing once the buffers exist: many directions at one point (as
// conjugate gradients asks), and new points of the same shapes. Its own executable, as it counts malloc calls
// (count_allocations.hpp).
#include <catch2/catch.hpp>

#include "count_allocations.hpp"
#include "tapegrad/autodiff.hpp"

using namespace tapegrad;

namespace {

template <class T>
void check_no_allocation(bool optimize) {
  const Index m = 40, n = 30, k = 6;
  const Matrix<T> M = Matrix<T>::Random(m, n);
  Parameter<T> u(Matrix<T>::Random(m, k)), d(Matrix<T>::Random(k, 1)), v(Matrix<T>::Random(n, k));
  // The seed loss as written, plus elementwise ops and a broadcast.
  HvpTape<T> h(
      [&](Tape<T>& t) {
        t.set_graph_optimization(optimize);
        auto U = t.parameter(u), D = t.parameter(d), V = t.parameter(v);
        auto I = t.constant(Matrix<T>::Identity(k, k));
        auto fit = mean(square(matmul(matmul(U, diag(square(D))), transpose(V)) - t.constant_view(M)));
        auto orth = mean(square(matmul(transpose(U), U) - I)) + mean(square(matmul(transpose(V), V) - I));
        return fit + orth / T(100) + sum(tanh(U + transpose(D))) * T(0.01);
      },
      {&u, &d, &v});
  std::vector<Matrix<T>> dir = {Matrix<T>::Random(m, k), Matrix<T>::Random(k, 1), Matrix<T>::Random(n, k)};
  auto move = [&](T s) {
    u.value.array() += s;
    v.value.array() -= s;
  };
  for (int r = 0; r < 2; ++r) {  // sizes every buffer
    (void)h.hvp(dir);
    move(T(0.01));
    (void)h.hvp(dir);
  }
  g_allocations = 0;
  g_counting = true;
  T check = 0;
  for (int r = 0; r < 3; ++r) {
    for (int j = 0; j < 4; ++j) {  // CG: several directions at one point
      dir[0](0, 0) += T(0.1);
      check += h.hvp(dir)[0](0, 0);
    }
    move(T(0.01));  // a new point
    check += h.hvp(dir)[1](0, 0) + h.loss() + h.gradient()[2](0, 0);
  }
  g_counting = false;
  CHECK(g_allocations.load() == 0);
  CHECK(std::isfinite(check));
}

}  // namespace

TEMPLATE_TEST_CASE("replayed HVPs allocate nothing after the first ones", "[hvp][alloc]", float, double) {
  if (!TAPEGRAD_COUNT_ALLOCATIONS) {
    WARN("allocation counting is off in this build (sanitizer or non-glibc)");
    return;
  }
  for (bool optimize : {true, false}) {
    CAPTURE(optimize);
    check_no_allocation<TestType>(optimize);
  }
}
