#include "tapegrad/autodiff/gradcheck.hpp"

#include <cmath>
#include <random>
#include <sstream>

namespace tapegrad {

std::string GradCheckResult::report() const {
  std::ostringstream s;
  s.precision(10);
  s << (ok ? "gradients agree" : "GRADIENT MISMATCH") << " over " << checked << " entries; worst: input "
    << input << " (" << row << ", " << col << "): analytic " << analytic << " vs numeric " << numeric
    << " (error " << max_error << "x tolerance)";
  return s.str();
}

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

  // Analytic: one backward pass with the projection R as the seed gradient.
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
        const double a = analytic[k](i, j);
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
    }
  }
  res.ok = res.max_error <= 1.0;
  return res;
}

}  // namespace tapegrad
