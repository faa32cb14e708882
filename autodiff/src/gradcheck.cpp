#include "tapegrad/autodiff/gradcheck.hpp"

#include <cmath>
#include <random>
#include <sstream>
#include <stdexcept>

#include "tapegrad/autodiff/hvp.hpp"

namespace tapegrad {

std::string GradCheckResult::report() const {
  std::ostringstream s;
  s.precision(10);
  s << (ok ? "gradients agree" : "GRADIENT MISMATCH") << " over " << checked << " entries; worst: input "
    << input << " (" << row << ", " << col << "): analytic " << analytic << " vs numeric " << numeric
    << " (error " << max_error << "x tolerance)";
  return s.str();
}

namespace {

// Folds the entry (k, i, j) into res: error relative to atol + rtol |numeric|.
void compare(GradCheckResult& res, const GradCheckOptions& options, std::size_t k, Index i, Index j, double a,
             double numeric) {
  double err = std::abs(a - numeric) / (options.atol + options.rtol * std::abs(numeric));
  if (!std::isfinite(a) || !std::isfinite(numeric)) err = std::numeric_limits<double>::infinity();
  ++res.checked;
  if (err > res.max_error || res.checked == 1) {
    res.max_error = err;
    res.input = k;
    res.row = i;
    res.col = j;
    res.analytic = a;
    res.numeric = numeric;
  }
}

}  // namespace

GradCheckResult check_gradients(const GradCheckFunction& f, const std::vector<Matrix<double>>& inputs,
                                const GradCheckOptions& options) {
  std::vector<Parameter<double>> params;
  params.reserve(inputs.size());
  for (const auto& x : inputs) params.emplace_back(x);

  Tape<double> tape;
  auto record = [&] {
    tape.clear();
    std::vector<Var<double>> vars;
    vars.reserve(params.size());
    for (auto& p : params) vars.push_back(tape.parameter(p));
    return f(tape, vars);
  };

  // Analytic: one backward pass with the projection R as the root gradient.
  Var<double> out = record();
  std::mt19937_64 rng(options.seed);
  std::uniform_real_distribution<double> unif(0.5, 1.5);
  Matrix<double> r(out.rows(), out.cols());
  for (Index j = 0; j < r.cols(); ++j)
    for (Index i = 0; i < r.rows(); ++i) r(i, j) = (rng() & 1 ? 1.0 : -1.0) * unif(rng);
  if (r.size() == 1) r(0, 0) = 1.0;
  tape.backward(out, r);
  std::vector<Matrix<double>> analytic;
  for (auto& p : params) analytic.push_back(p.grad);

  // Numeric: ⟨f(x + h e) - f(x - h e), R⟩ / 2h for every entry e.
  auto projected = [&] { return record().value().cwiseProduct(r).sum(); };
  GradCheckResult res;
  res.ok = true;
  for (std::size_t k = 0; k < params.size(); ++k) {
    auto& x = params[k].value;
    for (Index j = 0; j < x.cols(); ++j) {
      for (Index i = 0; i < x.rows(); ++i) {
        const double x0 = x(i, j);
        x(i, j) = x0 + options.step;
        const double fp = projected();
        x(i, j) = x0 - options.step;
        const double fm = projected();
        x(i, j) = x0;
        const double numeric = (fp - fm) / (2 * options.step);
        compare(res, options, k, i, j, analytic[k](i, j), numeric);
      }
    }
  }
  res.ok = res.max_error <= 1.0;
  return res;
}

GradCheckResult check_hvp(const GradCheckFunction& f, const std::vector<Matrix<double>>& inputs,
                          const std::vector<Matrix<double>>& v_in, const GradCheckOptions& options) {
  std::vector<Parameter<double>> params;
  params.reserve(inputs.size());
  for (const auto& x : inputs) params.emplace_back(x);
  std::vector<Parameter<double>*> ptrs;
  for (auto& p : params) ptrs.push_back(&p);
  std::vector<Matrix<double>> v = v_in;
  if (v.empty()) {
    std::mt19937_64 rng(options.seed);
    std::uniform_real_distribution<double> unif(-1.0, 1.0);
    for (const auto& x : inputs) {
      Matrix<double> d(x.rows(), x.cols());
      for (Index j = 0; j < d.cols(); ++j)
        for (Index i = 0; i < d.rows(); ++i) d(i, j) = unif(rng);
      v.push_back(d);
    }
  }
  if (v.size() != inputs.size()) throw std::invalid_argument("check_hvp: one direction per input");
  auto record = [&](Tape<double>& tape) {
    std::vector<Var<double>> vars;
    vars.reserve(params.size());
    for (auto& p : params) vars.push_back(tape.parameter(p));
    return f(tape, vars);
  };
  HvpTape<double> h(record, ptrs);
  const std::vector<Matrix<double>> analytic = h.hvp(v);

  // Numeric: the gradient at x ± h v, by ordinary backward passes.
  auto gradient_at = [&](double t) {
    for (std::size_t k = 0; k < params.size(); ++k) {
      params[k].value = inputs[k] + t * v[k];
      params[k].zero_grad();
    }
    Tape<double> tape;
    tape.backward(record(tape));
    std::vector<Matrix<double>> g;
    for (auto& p : params) g.push_back(p.grad);
    return g;
  };
  const auto gp = gradient_at(options.step), gm = gradient_at(-options.step);
  for (std::size_t k = 0; k < params.size(); ++k) params[k].value = inputs[k];
  GradCheckResult res;
  for (std::size_t k = 0; k < params.size(); ++k) {
    for (Index j = 0; j < inputs[k].cols(); ++j) {
      for (Index i = 0; i < inputs[k].rows(); ++i)
        compare(res, options, k, i, j, analytic[k](i, j), (gp[k](i, j) - gm[k](i, j)) / (2 * options.step));
    }
  }
  res.ok = res.max_error <= 1.0;
  return res;
}

}  // namespace tapegrad
