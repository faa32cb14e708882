// TrustRegion (truncated Newton, Steihaug–Toint CG on HvpTape products) against L-BFGS, to |g| <= 1e-10
// in float64 (or the best each reaches): outer iterations, loss-and-gradient evaluations, HVPs, seconds.
// A measurement, not a test. bench/newton_vs_scipy.py prints the same columns for SciPy's trust-ncg on the
// same problems and data:
//
//   build/release/bin/newton_vs_lbfgs [SEED_DATA.json]
//   /usr/bin/python3 bench/newton_vs_scipy.py [SEED_DATA.json]
//
// Problems:
//   rosenbrock-100  scipy.optimize.rosen in 100 dimensions from (-1.2, 1, -1.2, 1, ...);
//   logistic        L2-regularised logistic regression, 200 x 10, the data and start of
//                   tests/data/optim/trust_region_reference.json (make_trust_region_reference.py);
//   seed-64x32      the seed SVD loss (svd::seed_loss) at 64x32, bench/seed_problem.hpp's data and start
//                   (written to SEED_DATA.json, when given, for the Python script).
// Both optimizers replay one recorded tape (the loss and gradient: Tape::forward, backward; HVPs: HvpTape).
// Seconds: the best of a few runs (the machine is shared).
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "seed_problem.hpp"
#include "tapegrad/optim.hpp"
#include "tapegrad/svd/loss.hpp"

using namespace tapegrad;
using json = nlohmann::json;
using M = Matrix<double>;

namespace {

constexpr double kGtol = 1e-10;

struct Problem {
  std::string name;
  std::vector<Parameter<double>*> params;
  std::vector<M> start;
  std::function<Var<double>(Tape<double>&)> loss;
  long max_iterations;
  int reps;
  void reset() const {
    for (std::size_t i = 0; i < params.size(); ++i) params[i]->value = start[i];
  }
};

struct Row {
  std::string status;
  long iterations = 0, evaluations = 0, hvps = 0, cg = 0;
  double gnorm = 0, loss = 0, seconds = 1e300;
};

template <class F>
Row best_of(const Problem& p, F run) {
  Row best;
  for (int r = 0; r < p.reps; ++r) {
    p.reset();
    const auto t0 = std::chrono::steady_clock::now();
    Row row = run();
    row.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (row.seconds < best.seconds) best = row;
  }
  return best;
}

Row trust_region(const Problem& p) {
  return best_of(p, [&] {
    HvpTape<double> h(p.loss, p.params);
    optim::TrustRegion<double> opt(h, {.gtol = kGtol, .max_iterations = p.max_iterations});
    Row r;
    r.status = optim::to_string(opt.minimize());
    r.iterations = opt.iterations();
    r.evaluations = opt.evaluations();
    r.hvps = opt.hvps();
    r.cg = opt.cg_iterations();
    r.gnorm = opt.gradient_norm();
    r.loss = opt.loss();
    return r;
  });
}

Row lbfgs(const Problem& p) {
  return best_of(p, [&] {
    Tape<double> tape;
    const Var<double> loss = p.loss(tape);
    auto closure = [&] {
      tape.forward();
      for (auto* q : p.params) q->zero_grad();
      tape.backward(loss);
      return loss.value()(0, 0);
    };
    auto gnorm = [&] {
      double s = 0;
      for (auto* q : p.params) s += q->grad.squaredNorm();
      return std::sqrt(s);
    };
    optim::Lbfgs<double> opt(p.params);
    Row r;
    double f = closure();
    r.status = "max_iterations";
    while (r.iterations < p.max_iterations) {
      if (gnorm() <= kGtol) {
        r.status = "converged";
        break;
      }
      f = opt.step(closure, f);
      ++r.iterations;
      if (opt.line_search_failed()) {
        r.status = "line_search_failed";
        break;
      }
    }
    if (r.status == "max_iterations" && gnorm() <= kGtol) r.status = "converged";
    r.evaluations = opt.evaluations() + 1;
    r.gnorm = gnorm();
    r.loss = f;
    return r;
  });
}

void print(const std::string& problem, const std::string& method, const Row& r) {
  std::printf("| %s | %s | %s | %ld | %ld | %ld | %.2e | %.10g | %.4g |\n", problem.c_str(), method.c_str(),
              r.status.c_str(), r.iterations, r.evaluations, r.hvps, r.gnorm, r.loss, r.seconds);
  std::fflush(stdout);
}

json rows_json(const M& m) {
  json out = json::array();
  for (Index i = 0; i < m.rows(); ++i) {
    json row = json::array();
    for (Index j = 0; j < m.cols(); ++j) row.push_back(m(i, j));
    out.push_back(row);
  }
  return out;
}

M from_rows(const json& v) {
  M m(static_cast<Index>(v.size()), static_cast<Index>(v[0].size()));
  for (Index i = 0; i < m.rows(); ++i)
    for (Index j = 0; j < m.cols(); ++j)
      m(i, j) = v[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)];
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  // Rosenbrock, 100-D.
  const Index n = 100;
  M x0(n, 1);
  for (Index i = 0; i < n; ++i) x0(i, 0) = i % 2 == 0 ? -1.2 : 1.0;
  Parameter<double> x(x0);
  auto rosenbrock = [&](Tape<double>& t) {
    auto X = t.parameter(x);
    auto head = narrow(X, 0, 0, n - 1), tail = narrow(X, 0, 1, n - 1);
    return sum(100.0 * square(tail - square(head))) + sum(square(1.0 - head));
  };
  Problem rosen{"rosenbrock-100", {&x}, {x0}, rosenbrock, 20000, 5};

  // Logistic regression on the reference's data.
  std::ifstream in(TAPEGRAD_TR_REFERENCE);
  if (!in) {
    std::fprintf(stderr, "cannot open %s\n", TAPEGRAD_TR_REFERENCE);
    return 1;
  }
  const json ref = json::parse(in)["logistic"];
  const M X = from_rows(ref["X"]);
  M y(X.rows(), 1), w0(X.cols(), 1);
  for (Index i = 0; i < y.rows(); ++i) y(i, 0) = ref["y"][static_cast<std::size_t>(i)];
  for (Index i = 0; i < w0.rows(); ++i) w0(i, 0) = ref["x0"][static_cast<std::size_t>(i)];
  const double lam = ref["lam"];
  Parameter<double> w(w0);
  auto regularized_logistic = [&](Tape<double>& t) {
    auto W = t.parameter(w);
    return binary_cross_entropy_with_logits(matmul(t.constant(X), W), t.constant(y)) +
           sum(square(W)) * (lam / 2);
  };
  Problem logistic{"logistic", {&w}, {w0}, regularized_logistic, 20000, 20};

  // The seed loss at 64x32.
  bench::SeedProblem<double> sp(64, 32);
  auto seed_svd_loss = [&](Tape<double>& t) { return svd::seed_loss(t, sp.U, sp.d, sp.V, sp.M); };
  Problem seed{
      "seed-64x32", {&sp.U, &sp.d, &sp.V}, {sp.U.value, sp.d.value, sp.V.value}, seed_svd_loss, 20000, 1};
  if (argc > 1) {
    json d = {{"M", rows_json(sp.M)},
              {"U0", rows_json(sp.U.value)},
              {"d0", rows_json(sp.d.value)},
              {"V0", rows_json(sp.V.value)}};
    std::ofstream(argv[1]) << d.dump() << "\n";
  }

  std::printf(
      "| problem | method | status | outer iterations | evaluations | HVPs | final |g| | final loss | "
      "seconds |\n|---|---|---|---:|---:|---:|---:|---:|---:|\n");
  for (const Problem* p : {&rosen, &logistic, &seed}) {
    print(p->name, "tapegrad TrustRegion", trust_region(*p));
    print(p->name, "tapegrad L-BFGS", lbfgs(*p));
  }
  return 0;
}
