// Steady-state steps allocate nothing: after the first step (which creates the state buffers),
// zero_grad(), clip_grad_norm(), step() and a scheduler's step() make no heap allocation; nor do
// TrustRegion's steps. This executable counts malloc calls (count_allocations.hpp).
#include <catch2/catch.hpp>

#include "count_allocations.hpp"
#include "tapegrad/autodiff.hpp"
#include "tapegrad/optim.hpp"

using namespace tapegrad;
using namespace tapegrad::optim;

namespace {
template <class T>
long allocations_of_steady_steps(Optimizer<T>& opt, LRScheduler<T>& sched, std::vector<Parameter<T>*> ps) {
  auto one = [&](int k) {
    opt.zero_grad();
    for (auto* p : ps) p->grad.setConstant(T(0.01) * T(k % 7 - 3));  // stands in for backward()
    clip_grad_norm(opt, 1.0);
    opt.step();
    sched.step();
  };
  for (int k = 0; k < 3; ++k) one(k);  // the first step allocates the state
  g_allocations = 0;
  g_counting = true;
  for (int k = 3; k < 50; ++k) one(k);
  g_counting = false;
  return g_allocations.load();
}
}  // namespace

TEMPLATE_TEST_CASE("steady-state steps make no heap allocation", "[optim][alloc]", float, double) {
  using T = TestType;
  if (!TAPEGRAD_COUNT_ALLOCATIONS) {
    WARN("allocation counting is off in this build (sanitizer or non-glibc)");
    return;
  }
  // The counter works: an Eigen matrix and a std::vector are both seen.
  g_allocations = 0;
  g_counting = true;
  {
    Matrix<T> m(5, 5);
    std::vector<int> v(3);
    m.setZero();
    v[0] = 1;
  }
  g_counting = false;
  REQUIRE(g_allocations.load() >= 2);

  Parameter<T> a(Matrix<T>::Ones(5, 4)), b(Matrix<T>::Ones(1, 4)), c(Matrix<T>::Ones(4, 4));
  SECTION("SGD with momentum, nesterov, weight decay; two groups; StepLR") {
    SgdOptions o;
    o.lr = 0.1;
    o.momentum = 0.9;
    o.nesterov = true;
    o.weight_decay = 1e-3;
    Sgd<T> opt({&a, &b}, o);
    o.maximize = true;
    opt.add_param_group({&c}, o);
    StepLR<T> sched(opt, 5, 0.5);
    CHECK(allocations_of_steady_steps<T>(opt, sched, {&a, &b, &c}) == 0);
  }
  SECTION("Adam with amsgrad and weight decay; ExponentialLR") {
    AdamOptions o;
    o.amsgrad = true;
    o.weight_decay = 1e-2;
    Adam<T> opt({&a, &b, &c}, o);
    ExponentialLR<T> sched(opt, 0.99);
    CHECK(allocations_of_steady_steps<T>(opt, sched, {&a, &b, &c}) == 0);
  }
  SECTION("AdamW; CosineAnnealingLR") {
    AdamW<T> opt({&a, &b, &c}, {});
    CosineAnnealingLR<T> sched(opt, 10, 1e-4);
    CHECK(allocations_of_steady_steps<T>(opt, sched, {&a, &b, &c}) == 0);
  }
}

TEMPLATE_TEST_CASE("TrustRegion: steady-state steps make no heap allocation", "[optim][alloc][trust_region]",
                   float, double) {
  using T = TestType;
  if (!TAPEGRAD_COUNT_ALLOCATIONS) {
    WARN("allocation counting is off in this build (sanitizer or non-glibc)");
    return;
  }
  // Rosenbrock in 10 dimensions, HVPs from an HvpTape: CG iterations, trial points (taken and rejected), the
  // radius update.
  const Index n = 10;
  Parameter<T> x(Matrix<T>::Constant(n, 1, T(-1.2)));
  for (Index i = 1; i < n; i += 2) x.value(i, 0) = T(1);
  HvpTape<T> h(
      [&](Tape<T>& t) {
        auto X = t.parameter(x);
        auto head = narrow(X, 0, 0, n - 1), tail = narrow(X, 0, 1, n - 1);
        return sum(T(100) * square(tail - square(head))) + sum(square(T(1) - head));
      },
      {&x});
  TrustRegion<T> opt(h, {.gtol = 0});
  for (int k = 0; k < 3; ++k) opt.step();
  const long cg = opt.cg_iterations();
  g_allocations = 0;
  g_counting = true;
  for (int k = 0; k < 15; ++k) opt.step();
  g_counting = false;
  CHECK(opt.cg_iterations() > cg + 15);
  CHECK(g_allocations.load() == 0);
}
