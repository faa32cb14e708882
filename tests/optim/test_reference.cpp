// Every case of tests/data/optim/reference.json (PyTorch 1.13 trajectories, see make_optim_reference.py)
// replayed with tapegrad: the loss built from the ops on a tape, the optimizer, scheduler and clipping
// of the case, and every step's loss, lr, parameters (and clip norm) compared with PyTorch's.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "tapegrad/autodiff.hpp"
#include "tapegrad/optim.hpp"
#include "test_data.hpp"

using namespace tapegrad;
using namespace tapegrad::optim;
using nlohmann::json;

namespace {

const json& reference() {
  static const json doc = [] {
    std::ifstream in(test::data_path("optim/reference.json"));
    if (!in) throw std::runtime_error("cannot open " + test::data_path("optim/reference.json"));
    return json::parse(in);
  }();
  return doc;
}

const json& find_case(const std::string& name) {
  for (const auto& c : reference()["cases"])
    if (c["name"] == name) return c;
  throw std::runtime_error("no case " + name + " in reference.json");
}

template <class T>
Matrix<T> to_matrix(const json& rows) {
  Matrix<T> m(static_cast<Index>(rows.size()), static_cast<Index>(rows[0].size()));
  for (Index i = 0; i < m.rows(); ++i)
    for (Index j = 0; j < m.cols(); ++j)
      m(i, j) = static_cast<T>(rows[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)].get<double>());
  return m;
}

/// Relative error of a matrix: the largest entry difference over the reference's largest entry.
double rel_err(const Matrix<double>& got, const Matrix<double>& want) {
  return (got - want).cwiseAbs().maxCoeff() / want.cwiseAbs().maxCoeff();
}
double rel_err(double got, double want) { return std::abs(got - want) / std::abs(want); }

SgdOptions sgd_options(const json& o) {
  SgdOptions s;
  s.lr = o["lr"];
  s.momentum = o["momentum"];
  s.dampening = o["dampening"];
  s.weight_decay = o["weight_decay"];
  s.nesterov = o["nesterov"];
  s.maximize = o["maximize"];
  return s;
}
template <class Opts>
Opts adam_options(const json& o) {
  Opts a;
  a.lr = o["lr"];
  a.beta1 = o["betas"][0];
  a.beta2 = o["betas"][1];
  a.eps = o["eps"];
  a.weight_decay = o["weight_decay"];
  a.amsgrad = o["amsgrad"];
  a.maximize = o["maximize"];
  return a;
}

struct Errors {
  double loss = 0, lr = 0, params = 0, grad_norm = 0;
};

template <class T>
Errors run_case(const json& c) {
  const auto& doc = reference();
  const Matrix<T> x = to_matrix<T>(doc["X"]), y = to_matrix<T>(doc["Y"]);
  Parameter<T> a(to_matrix<T>(doc["A0"]), "A"), b(to_matrix<T>(doc["b0"]), "b");
  const std::string kind = c["optimizer"];
  const bool heavy_ball = kind == "heavy_ball";

  std::unique_ptr<Optimizer<T>> opt;
  if (!heavy_ball) {
    std::vector<std::pair<std::vector<Parameter<T>*>, json>> groups;
    if (c.contains("param_groups")) {
      for (const auto& g : c["param_groups"]) {
        std::vector<Parameter<T>*> ps;
        for (const auto& name : g["params"]) ps.push_back(name == "A" ? &a : &b);
        groups.emplace_back(ps, g);
      }
    } else {
      groups.emplace_back(std::vector<Parameter<T>*>{&a, &b}, c["options"]);
    }
    for (std::size_t gi = 0; gi < groups.size(); ++gi) {
      auto& [ps, o] = groups[gi];
      if (kind == "sgd") {
        if (gi == 0)
          opt = std::make_unique<Sgd<T>>(ps, sgd_options(o));
        else
          static_cast<Sgd<T>&>(*opt).add_param_group(ps, sgd_options(o));
      } else if (kind == "adam") {
        if (gi == 0)
          opt = std::make_unique<Adam<T>>(ps, adam_options<AdamOptions>(o));
        else
          static_cast<Adam<T>&>(*opt).add_param_group(ps, adam_options<AdamOptions>(o));
      } else if (kind == "adamw") {
        if (gi == 0)
          opt = std::make_unique<AdamW<T>>(ps, adam_options<AdamWOptions>(o));
        else
          static_cast<AdamW<T>&>(*opt).add_param_group(ps, adam_options<AdamWOptions>(o));
      } else {
        FAIL("unknown optimizer " << kind);
      }
    }
  }
  std::unique_ptr<LRScheduler<T>> sched;
  if (c.contains("scheduler")) {
    const auto& s = c["scheduler"];
    if (s["type"] == "step")
      sched = std::make_unique<StepLR<T>>(*opt, s["step_size"].get<long>(), s["gamma"].get<double>());
    else if (s["type"] == "exponential")
      sched = std::make_unique<ExponentialLR<T>>(*opt, s["gamma"].get<double>());
    else if (s["type"] == "cosine")
      sched =
          std::make_unique<CosineAnnealingLR<T>>(*opt, s["T_max"].get<long>(), s["eta_min"].get<double>());
    else
      FAIL("unknown scheduler");
  }
  const bool clip = c.contains("clip_grad_norm");
  const double hb_lr = heavy_ball ? c["options"]["lr"].get<double>() : 0;
  const double hb_momentum = heavy_ball ? c["options"]["momentum"].get<double>() : 0;

  // loss = mean(square(X A + b − Y)) + 0.1·sum(tanh(A)), recorded once and replayed with forward().
  Tape<T> tape;
  auto A = tape.parameter(a), B = tape.parameter(b);
  auto loss =
      mean(square(sub(add(matmul(tape.constant(x), A), B), tape.constant(y)))) + T(0.1) * sum(tanh(A));

  Errors err;
  const auto& traj = c["trajectory"];
  const int steps = c["steps"];
  REQUIRE(traj.size() == static_cast<std::size_t>(steps) + 1);
  for (int k = 0; k <= steps; ++k) {
    const auto& e = traj[static_cast<std::size_t>(k)];
    CAPTURE(k);
    // The parameters and lr before step k (after the last step for k == steps).
    const double ea = rel_err(a.value.template cast<double>(), to_matrix<double>(e["A"]));
    const double eb = rel_err(b.value.template cast<double>(), to_matrix<double>(e["b"]));
    err.params = std::max({err.params, ea, eb});
    const double lr_now = heavy_ball ? hb_lr : opt->lr(0);
    err.lr = std::max(err.lr, rel_err(lr_now, e["lr"].get<double>()));
    tape.forward();
    err.loss = std::max(err.loss, rel_err(static_cast<double>(loss.value()(0, 0)), e["loss"].get<double>()));
    if (k == steps) break;
    if (heavy_ball) {
      // The seed's hand-written momentum: gradients accumulate (no zero_grad), then
      // P -= lr * P.grad; P.grad *= momentum.
      tape.backward(loss);
      for (auto* p : {&a, &b}) {
        p->value -= T(hb_lr) * p->grad;
        p->grad *= T(hb_momentum);
      }
      continue;
    }
    opt->zero_grad();
    tape.backward(loss);
    if (clip) {
      const double n = clip_grad_norm(opt->parameters(), c["clip_grad_norm"].get<double>());
      err.grad_norm = std::max(err.grad_norm, rel_err(n, e["grad_norm"].get<double>()));
    }
    opt->step();
    if (sched) sched->step();
  }
  std::printf("[measure] %-18s max rel err: loss %.2e  lr %.2e  params %.2e  grad_norm %.2e\n",
              c["name"].get<std::string>().c_str(), err.loss, err.lr, err.params, err.grad_norm);
  return err;
}

void check_case(const std::string& name) {
  const json& c = find_case(name);
  const bool f32 = c["dtype"] == "float32";
  const Errors e = f32 ? run_case<float>(c) : run_case<double>(c);
  CAPTURE(name, e.loss, e.lr, e.params, e.grad_norm);
  if (f32) {
    // float32: PyTorch's kernels and ours round differently in the loss and gradient reductions.
    CHECK(e.loss <= 1e-5);
    CHECK(e.lr <= 1e-5);
    CHECK(e.params <= 1e-5);
    CHECK(e.grad_norm <= 1e-5);
  } else {
    // float64: the bound asked for is 1e-12; observed (g++ 12, x86-64) loss <= 3e-14, parameters and
    // norms <= 1e-15, lr exact. The checks sit a few times above what is observed.
    CHECK(e.loss <= 1e-13);
    CHECK(e.lr <= 1e-15);
    CHECK(e.params <= 1e-14);
    CHECK(e.grad_norm <= 1e-14);
  }
}

}  // namespace

TEST_CASE("reference.json lists the 23 cases this file replays", "[optim][reference]") {
  CHECK(reference()["cases"].size() == 23);
  CHECK(reference()["torch_version"].get<std::string>().rfind("1.13", 0) == 0);
}

TEST_CASE("SGD matches PyTorch: plain", "[optim][reference]") { check_case("sgd_plain"); }
TEST_CASE("SGD matches PyTorch: momentum", "[optim][reference]") { check_case("sgd_momentum"); }
TEST_CASE("SGD matches PyTorch: momentum with dampening", "[optim][reference]") {
  check_case("sgd_dampening");
}
TEST_CASE("SGD matches PyTorch: nesterov", "[optim][reference]") { check_case("sgd_nesterov"); }
TEST_CASE("SGD matches PyTorch: weight decay", "[optim][reference]") { check_case("sgd_weight_decay"); }
TEST_CASE("SGD matches PyTorch: maximize", "[optim][reference]") { check_case("sgd_maximize"); }
TEST_CASE("SGD matches PyTorch: nesterov with weight decay", "[optim][reference]") { check_case("sgd_all"); }
TEST_CASE("Adam matches PyTorch: default betas", "[optim][reference]") { check_case("adam_default"); }
TEST_CASE("Adam matches PyTorch: coupled weight decay", "[optim][reference]") {
  check_case("adam_weight_decay");
}
TEST_CASE("Adam matches PyTorch: amsgrad", "[optim][reference]") { check_case("adam_amsgrad"); }
TEST_CASE("Adam matches PyTorch: other betas and eps", "[optim][reference]") { check_case("adam_betas"); }
TEST_CASE("Adam matches PyTorch: maximize", "[optim][reference]") { check_case("adam_maximize"); }
TEST_CASE("AdamW matches PyTorch: default weight decay", "[optim][reference]") {
  check_case("adamw_default");
}
TEST_CASE("AdamW matches PyTorch: amsgrad with weight decay", "[optim][reference]") {
  check_case("adamw_amsgrad");
}
TEST_CASE("SGD matches PyTorch: two parameter groups with their own lr and momentum", "[optim][reference]") {
  check_case("groups_sgd");
}
TEST_CASE("StepLR matches PyTorch's lr and trajectory", "[optim][reference]") { check_case("sched_step"); }
TEST_CASE("ExponentialLR with Adam matches PyTorch's lr and trajectory", "[optim][reference]") {
  check_case("sched_exponential");
}
TEST_CASE("CosineAnnealingLR (past T_max) matches PyTorch's lr and trajectory", "[optim][reference]") {
  check_case("sched_cosine");
}
TEST_CASE("clip_grad_norm with SGD matches PyTorch's norms and trajectory", "[optim][reference]") {
  check_case("clip_sgd");
}
TEST_CASE("clip_grad_norm with Adam matches PyTorch's norms and trajectory", "[optim][reference]") {
  check_case("clip_adam");
}
TEST_CASE("the seed's heavy-ball momentum through gradient accumulation matches PyTorch",
          "[optim][reference]") {
  check_case("heavy_ball");
}
TEST_CASE("SGD in float32 matches PyTorch's float32 run", "[optim][reference][float]") {
  check_case("sgd_momentum_f32");
}
TEST_CASE("Adam in float32 matches PyTorch's float32 run", "[optim][reference][float]") {
  check_case("adam_default_f32");
}
