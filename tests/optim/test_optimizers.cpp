// The optimizers' API on small problems computed by hand: validation, parameter groups, reset_state,
// zero_grad, every option of SGD / Adam / AdamW, the schedules and clipping, in float and double.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <memory>
#include <numbers>
#include <vector>

#include "tapegrad/optim.hpp"

using namespace tapegrad;
using namespace tapegrad::optim;

namespace {
template <class T>
Matrix<T> mat(std::initializer_list<std::initializer_list<T>> rows) {
  Matrix<T> m(static_cast<Index>(rows.size()), static_cast<Index>(rows.begin()->size()));
  Index i = 0;
  for (const auto& r : rows) {
    Index j = 0;
    for (T v : r) m(i, j++) = v;
    ++i;
  }
  return m;
}
template <class T>
bool same_bits(const Matrix<T>& a, const Matrix<T>& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::memcmp(a.data(), b.data(), sizeof(T) * static_cast<std::size_t>(a.size())) == 0;
}
}  // namespace

TEST_CASE("SGD rejects what torch.optim.SGD rejects", "[optim][validation]") {
  Parameter<double> p(Matrix<double>::Zero(2, 2));
  auto make = [&](SgdOptions o) { Sgd<double> s({&p}, o); };
  SgdOptions o;
  o.lr = -0.1;
  CHECK_THROWS_WITH(make(o), Catch::Contains("Invalid learning rate"));
  o = {};
  o.lr = std::nan("");
  CHECK_THROWS_AS(make(o), std::invalid_argument);
  o = {};
  o.momentum = -0.5;
  CHECK_THROWS_WITH(make(o), Catch::Contains("Invalid momentum value"));
  o = {};
  o.weight_decay = -1e-4;
  CHECK_THROWS_WITH(make(o), Catch::Contains("Invalid weight_decay value"));
  o = {};
  o.nesterov = true;  // momentum 0
  CHECK_THROWS_WITH(make(o), Catch::Contains("Nesterov momentum requires a momentum and zero dampening"));
  o.momentum = 0.9;
  o.dampening = 0.1;
  CHECK_THROWS_WITH(make(o), Catch::Contains("Nesterov momentum requires"));
  o.dampening = 0;
  CHECK_NOTHROW(make(o));
}

TEST_CASE("Adam and AdamW reject what PyTorch rejects", "[optim][validation]") {
  Parameter<float> p(Matrix<float>::Zero(1, 3));
  auto adam = [&](AdamOptions o) { Adam<float> a({&p}, o); };
  auto adamw = [&](AdamWOptions o) { AdamW<float> a({&p}, o); };
  AdamOptions o;
  o.lr = -1;
  CHECK_THROWS_WITH(adam(o), Catch::Contains("Invalid learning rate"));
  o = {};
  o.eps = -1e-8;
  CHECK_THROWS_WITH(adam(o), Catch::Contains("Invalid epsilon value"));
  o = {};
  o.beta1 = 1.0;
  CHECK_THROWS_WITH(adam(o), Catch::Contains("Invalid beta parameter at index 0"));
  o = {};
  o.beta2 = -0.1;
  CHECK_THROWS_WITH(adam(o), Catch::Contains("Invalid beta parameter at index 1"));
  o = {};
  o.weight_decay = -0.1;
  CHECK_THROWS_WITH(adam(o), Catch::Contains("Invalid weight_decay value"));
  o = {};
  o.beta1 = 0;  // beta = 0 is allowed
  CHECK_NOTHROW(adam(o));
  AdamWOptions w;
  w.beta2 = 1.5;
  CHECK_THROWS_WITH(adamw(w), Catch::Contains("Invalid beta parameter at index 1"));
  w = {};
  w.weight_decay = -1;
  CHECK_THROWS_WITH(adamw(w), Catch::Contains("Invalid weight_decay value"));
  CHECK_NOTHROW(adamw(AdamWOptions{}));
}

TEST_CASE("parameter lists: empty, null, duplicated or in two groups are errors", "[optim][validation]") {
  Parameter<double> a(Matrix<double>::Zero(2, 2), "a"), b(Matrix<double>::Zero(1, 2), "b");
  CHECK_THROWS_WITH(Sgd<double>({}, {}), Catch::Contains("empty parameter list"));
  CHECK_THROWS_AS(Adam<double>({}, {}), std::invalid_argument);
  CHECK_THROWS_WITH(Sgd<double>({&a, nullptr}, {}), Catch::Contains("null parameter"));
  CHECK_THROWS_WITH(Sgd<double>({&a, &a}, {}), Catch::Contains("twice"));
  Sgd<double> s({&a}, {});
  CHECK_THROWS_WITH(s.add_param_group({&b, &a}, {}),
                    Catch::Contains("more than one parameter group") && Catch::Contains("'a'"));
  CHECK(s.num_groups() == 1);  // the failed group was not added
  CHECK_THROWS_AS(s.add_param_group({}, {}), std::invalid_argument);
  AdamW<double> w({&a}, {});
  CHECK_THROWS_AS(w.add_param_group({&a}, {}), std::invalid_argument);
}

TEST_CASE("set_lr validates and a gradient of the wrong shape is reported by step", "[optim][validation]") {
  Parameter<double> a(Matrix<double>::Zero(2, 2), "weights");
  Sgd<double> s({&a}, {});
  CHECK_THROWS_AS(s.set_lr(-1.0), std::invalid_argument);
  CHECK_THROWS_AS(s.set_lr(3, 0.1), std::out_of_range);
  CHECK_THROWS_AS(s.lr(1), std::out_of_range);
  a.grad.resize(3, 1);
  CHECK_THROWS_WITH(s.step(),
                    Catch::Contains("'weights'") && Catch::Contains("3x1 gradient for a 2x2 value"));
  Adam<double> adam({&a}, {});
  CHECK_THROWS_WITH(adam.step(), Catch::Contains("3x1 gradient"));
}

TEMPLATE_TEST_CASE("parameter groups keep their own lr and options", "[optim][groups]", float, double) {
  using T = TestType;
  Parameter<T> a(mat<T>({{T(1), T(2)}})), b(mat<T>({{T(3)}}));
  SgdOptions oa, ob;
  oa.lr = 0.5;
  ob.lr = 0.25;
  ob.weight_decay = 0.5;
  Sgd<T> s({&a}, oa);
  s.add_param_group({&b}, ob);
  REQUIRE(s.num_groups() == 2);
  CHECK(s.lr(0) == 0.5);
  CHECK(s.lr(1) == 0.25);
  CHECK(s.parameters() == std::vector<Parameter<T>*>{&a, &b});
  CHECK(s.group_parameters(1) == std::vector<Parameter<T>*>{&b});
  a.grad = mat<T>({{T(1), T(-1)}});
  b.grad = mat<T>({{T(2)}});
  s.step();
  // a: θ − 0.5·g;  b: θ − 0.25·(g + 0.5·θ) = 3 − 0.25·3.5
  CHECK(a.value(0, 0) == T(0.5));
  CHECK(a.value(0, 1) == T(2.5));
  CHECK(b.value(0, 0) == T(2.125));
  s.set_lr(1, 1.0);
  CHECK(s.lr(0) == 0.5);
  CHECK(s.options(1).lr == 1.0);
  CHECK(s.options(1).weight_decay == 0.5);
  s.set_lr(0.125);
  CHECK(s.lr(0) == 0.125);
  CHECK(s.lr(1) == 0.125);
}

TEMPLATE_TEST_CASE("zero_grad zeroes the gradients and keeps their buffers", "[optim]", float, double) {
  using T = TestType;
  Parameter<T> a(Matrix<T>::Ones(3, 2));
  a.grad.setConstant(T(7));
  const T* buffer = a.grad.data();
  Adam<T> opt({&a}, {});
  opt.zero_grad();
  CHECK(a.grad.isZero(0));
  CHECK(a.grad.data() == buffer);
}

TEMPLATE_TEST_CASE("SGD's options on a hand-computed trajectory", "[optim][sgd]", float, double) {
  using T = TestType;
  // One scalar parameter, constant gradient g = 2 given by hand each step (no tape needed).
  for (int variant = 0; variant < 5; ++variant) {
    CAPTURE(variant);
    SgdOptions o;
    o.lr = 0.5;
    o.momentum = 0.5;
    if (variant == 1) o.dampening = 0.5;
    if (variant == 2) o.nesterov = true;
    if (variant == 3) o.weight_decay = 0.25;
    if (variant == 4) o.maximize = true;
    Parameter<T> p(mat<T>({{T(1)}}));
    Sgd<T> s({&p}, o);
    double theta = 1, buf = 0;
    for (int k = 0; k < 4; ++k) {
      p.grad(0, 0) = T(2);
      s.step();
      double g = o.maximize ? -2 : 2;
      g += o.weight_decay * theta;
      buf = k == 0 ? g : o.momentum * buf + (1 - o.dampening) * g;
      const double d = o.nesterov ? g + o.momentum * buf : buf;
      theta -= o.lr * d;
      // Powers of two throughout except weight decay: exact in both types.
      CHECK(p.value(0, 0) == Approx(theta).epsilon(1e-6));
    }
  }
}

TEMPLATE_TEST_CASE("Adam and AdamW: the first steps by hand", "[optim][adam]", float, double) {
  using T = TestType;
  const double g = 0.5, lr = 0.1, wd = 0.2, theta0 = 2;
  SECTION("Adam's first step moves by lr·g/(|g| + eps) (bias corrections cancel)") {
    Parameter<T> p(mat<T>({{T(theta0)}}));
    AdamOptions o;
    o.lr = lr;
    Adam<T> a({&p}, o);
    p.grad(0, 0) = T(g);
    a.step();
    CHECK(a.step_count(0) == 1);
    CHECK(p.value(0, 0) == Approx(theta0 - lr * g / (g + 1e-8)).epsilon(1e-6));
  }
  SECTION("coupled weight decay adds λθ to the gradient") {
    Parameter<T> p(mat<T>({{T(theta0)}}));
    AdamOptions o;
    o.lr = lr;
    o.weight_decay = wd;
    o.maximize = true;
    Adam<T> a({&p}, o);
    p.grad(0, 0) = T(g);
    a.step();
    const double ge = -g + wd * theta0;  // maximize flips the gradient before the decay is added
    CHECK(p.value(0, 0) == Approx(theta0 - lr * ge / (std::abs(ge) + 1e-8)).epsilon(1e-6));
  }
  SECTION("AdamW shrinks θ by 1 − lr·λ first, two steps") {
    Parameter<T> p(mat<T>({{T(theta0)}}));
    AdamWOptions o;
    o.lr = lr;
    o.weight_decay = wd;
    AdamW<T> a({&p}, o);
    double theta = theta0, m = 0, v = 0;
    for (int t = 1; t <= 2; ++t) {
      const double gt = t == 1 ? g : -g / 4;
      p.grad(0, 0) = T(gt);
      a.step();
      theta *= 1 - lr * wd;
      m = 0.9 * m + 0.1 * gt;
      v = 0.999 * v + 0.001 * gt * gt;
      const double denom = std::sqrt(v) / std::sqrt(1 - std::pow(0.999, t)) + 1e-8;
      theta -= lr / (1 - std::pow(0.9, t)) * m / denom;
      CHECK(p.value(0, 0) == Approx(theta).epsilon(1e-6));
    }
  }
  SECTION("amsgrad divides by the largest v seen") {
    Parameter<T> p(mat<T>({{T(theta0)}}));
    AdamOptions o;
    o.lr = lr;
    o.amsgrad = true;
    o.beta2 = 0.5;
    Adam<T> a({&p}, o);
    double theta = theta0, m = 0, v = 0, vmax = 0;
    for (int t = 1; t <= 3; ++t) {
      const double gt = t == 1 ? 4.0 : 0.25;  // v shrinks after the first step; vmax does not
      p.grad(0, 0) = T(gt);
      a.step();
      m = 0.9 * m + 0.1 * gt;
      v = 0.5 * v + 0.5 * gt * gt;
      vmax = std::max(vmax, v);
      theta -= lr / (1 - std::pow(0.9, t)) * m / (std::sqrt(vmax) / std::sqrt(1 - std::pow(0.5, t)) + 1e-8);
      CHECK(p.value(0, 0) == Approx(theta).epsilon(1e-6));
    }
  }
}

TEMPLATE_TEST_CASE("reset_state forgets momentum and moments but keeps the options", "[optim][state]", float,
                   double) {
  using T = TestType;
  auto grad_at = [](const Matrix<T>& v) -> Matrix<T> { return (v.array() * v.array() - T(0.5)).matrix(); };
  auto run = [&](Optimizer<T>& opt, Parameter<T>& p, int n) {
    for (int k = 0; k < n; ++k) {
      p.grad = grad_at(p.value);
      opt.step();
    }
  };
  SgdOptions so;
  so.lr = 0.05;
  so.momentum = 0.9;
  so.nesterov = true;
  AdamOptions ao;
  ao.lr = 0.01;
  ao.amsgrad = true;
  for (int kind = 0; kind < 2; ++kind) {
    CAPTURE(kind);
    Parameter<T> p(mat<T>({{T(1), T(-2)}, {T(0.5), T(3)}}));
    std::unique_ptr<Optimizer<T>> opt;
    if (kind == 0)
      opt = std::make_unique<Sgd<T>>(std::vector<Parameter<T>*>{&p}, so);
    else
      opt = std::make_unique<Adam<T>>(std::vector<Parameter<T>*>{&p}, ao);
    opt->set_lr(0.02);
    run(*opt, p, 5);
    opt->reset_state();
    // From here it must behave as a fresh optimizer (with the lr it had) started at the current values.
    Parameter<T> q(p.value);
    std::unique_ptr<Optimizer<T>> fresh;
    if (kind == 0)
      fresh = std::make_unique<Sgd<T>>(std::vector<Parameter<T>*>{&q}, so);
    else
      fresh = std::make_unique<Adam<T>>(std::vector<Parameter<T>*>{&q}, ao);
    fresh->set_lr(0.02);
    run(*opt, p, 3);
    run(*fresh, q, 3);
    CHECK(same_bits(p.value, q.value));
    CHECK(opt->lr() == 0.02);
  }
}

TEMPLATE_TEST_CASE("schedules: StepLR, ExponentialLR, CosineAnnealingLR by their formulas",
                   "[optim][scheduler]", float, double) {
  using T = TestType;
  Parameter<T> a(Matrix<T>::Zero(1, 1)), b(Matrix<T>::Zero(1, 1));
  SgdOptions o;
  o.lr = 1.0;
  SECTION("StepLR multiplies every step_size epochs, per group from its own lr") {
    Sgd<T> s({&a}, o);
    o.lr = 0.5;
    s.add_param_group({&b}, o);
    StepLR<T> sched(s, 3, 0.5);
    CHECK(sched.base_lrs() == std::vector<double>{1.0, 0.5});
    const double want0[] = {1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25};
    for (int e = 0; e < 8; ++e) {
      CHECK(sched.last_epoch() == e);
      CHECK(s.lr(0) == want0[e]);
      CHECK(s.lr(1) == want0[e] / 2);
      sched.step();
    }
    CHECK_THROWS_AS(StepLR<T>(s, 0), std::invalid_argument);
  }
  SECTION("ExponentialLR multiplies every epoch") {
    Sgd<T> s({&a}, o);
    ExponentialLR<T> sched(s, 0.5);
    for (int e = 0; e < 5; ++e) {
      CHECK(s.lr() == std::ldexp(1.0, -e));
      sched.step();
    }
    CHECK(sched.last_lr() == std::vector<double>{1.0 / 32});
  }
  SECTION("CosineAnnealingLR follows eta_min + (base − eta_min)(1 + cos(π e / T))/2, and back up after T") {
    Sgd<T> s({&a}, o);
    CosineAnnealingLR<T> sched(s, 4, 0.1);
    for (int e = 0; e <= 12; ++e) {
      CAPTURE(e);
      const double closed = 0.1 + 0.9 * (1 + std::cos(std::numbers::pi * e / 4)) / 2;
      CHECK(s.lr() == Approx(closed).margin(1e-12));
      sched.step();
    }
  }
}

TEMPLATE_TEST_CASE("clip_grad_norm scales by max_norm / (total + 1e-6) and returns the total",
                   "[optim][clip]", float, double) {
  using T = TestType;
  Parameter<T> a(Matrix<T>::Zero(1, 2)), b(Matrix<T>::Zero(1, 1));
  a.grad = mat<T>({{T(3), T(0)}});
  b.grad = mat<T>({{T(-4)}});
  const double total = clip_grad_norm<T>({&a, &b}, 1.0);
  CHECK(total == Approx(5.0));
  const T coef = T(1) / (T(5) + T(1e-6));
  CHECK(a.grad(0, 0) == T(3) * coef);
  CHECK(b.grad(0, 0) == T(-4) * coef);
  // Below max_norm nothing changes.
  const Matrix<T> before = a.grad;
  Sgd<T> s({&a, &b}, {});
  CHECK(clip_grad_norm(s, 10.0) == Approx(1.0).epsilon(1e-5));
  CHECK(a.grad == before);
  CHECK_THROWS_AS(clip_grad_norm<T>({&a}, -1.0), std::invalid_argument);
}
