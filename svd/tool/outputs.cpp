// tapegrad-svd's outputs. See outputs.hpp.
#include "outputs.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <type_traits>

#include "errors.hpp"
#include "tapegrad/autodiff/graphviz.hpp"
#include "tapegrad/autodiff/profiler.hpp"
#include "tapegrad/io/write.hpp"
#include "tapegrad/svd/loss.hpp"
#include "tapegrad/svd/plot.hpp"

namespace tapegrad::svd::tool {

namespace fs = std::filesystem;

namespace {

/// The loss graph the recipe minimises, recorded for m's shape in dtype T, as Graphviz DOT (see
/// tapegrad/autodiff/graphviz.hpp). Seed: U m×n, diag_sqrt 1×n, V n×n, at --init-dir's values when given
/// (the 1×1 nodes then show the initial loss terms). Auto: U m×k, s 1×k, V n×k, values not shown.
template <class T>
std::string graph_dot(const Matrix<double>& m, const SvdOptions& o, const std::string& name, bool as_run) {
  const Index rows = m.rows(), n = m.cols();
  const bool seed = o.recipe == Recipe::Seed;
  const Index k = seed ? n : o.rank.value_or(std::min(rows, n));
  Parameter<T> u(Matrix<T>::Zero(rows, k), "U"), s(Matrix<T>::Zero(1, k), seed ? "diag_sqrt" : "s"),
      v(Matrix<T>::Zero(n, k), "V");
  if (seed && o.init) {
    u.value = o.init->U.cast<T>();
    s.value = o.init->diag_sqrt.cast<T>().reshaped(1, n);
    v.value = o.init->V.cast<T>();
  }
  Tape<T> tape;
  const Matrix<T> mt = m.cast<T>();
  const Var<T> loss = seed ? seed_loss(tape, u, s, v, mt) : auto_recipe_loss(tape, u, s, v, mt, T(1));
  DotOptions dot;
  dot.title = name + ": " + to_string(o.recipe) + " loss, " + shape_string(rows, n) + ", " +
              (std::is_same_v<T, float> ? "float32" : "float64");
  dot.scalar_values = seed && o.init.has_value();
  dot.as_run = as_run;
  if (as_run) dot.title += ", as it runs";
  if (dot.scalar_values) tape.evaluate();
  return to_dot(tape, loss, dot);
}

/// The per-op profile (tapegrad/autodiff/profiler.hpp) of kSteps replays of the recipe's loss graph, as it
/// runs for m's shape in dtype T (at random parameter values), as a table.
template <class T>
std::string profile_table(const Matrix<double>& m, const SvdOptions& o, const std::string& name) {
  constexpr int kSteps = 20;
  const Index rows = m.rows(), n = m.cols();
  const bool seed = o.recipe == Recipe::Seed;
  const Index k = seed ? n : o.rank.value_or(std::min(rows, n));
  Parameter<T> u(Matrix<T>::Random(rows, k)), s(Matrix<T>::Random(1, k)), v(Matrix<T>::Random(n, k));
  Tape<T> tape;
  const Matrix<T> mt = m.cast<T>();
  const Var<T> loss = seed ? seed_loss(tape, u, s, v, mt) : auto_recipe_loss(tape, u, s, v, mt, T(1));
  tape.backward(loss);  // sizes every buffer, outside the profile
  Profiler prof;
  prof.reserve(64 * kSteps);
  tape.set_profiler(&prof);
  for (int i = 0; i < kSteps; ++i) {
    auto step = prof.step();
    tape.forward();
    tape.backward(loss);
  }
  tape.set_profiler(nullptr);
  return name + ": " + to_string(o.recipe) + " loss, " + shape_string(rows, n) + ", " +
         (std::is_same_v<T, float> ? "float32" : "float64") + ", " + std::to_string(kSteps) +
         " steps (forward and backward) of the graph as it runs\n" + prof.table();
}

std::string shortest(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

}  // namespace

std::string shape_of(const Matrix<double>& m) { return shape_string(m.rows(), m.cols()); }
std::string shape_of(const io::MatrixShape& m) { return shape_string(m.rows, m.cols); }

SeedInit read_init(const std::string& dir, const io::MatrixShape& m) {
  const Index n = m.cols;
  auto path = [&](const char* f) { return (fs::path(dir) / f).string(); };
  SeedInit init;
  init.U = io::read_matrix(path("U0.csv"));
  init.diag_sqrt = io::read_matrix(path("diag_sqrt0.csv"));
  init.V = io::read_matrix(path("V0.csv"));
  if (init.U.rows() != m.rows || init.U.cols() != n)
    throw UsageError{"--init-dir: " + path("U0.csv") + " is " + shape_of(init.U) + ", but the matrix is " +
                     shape_of(m) + ", so U0 must be " + shape_string(m.rows, n)};
  if (init.diag_sqrt.size() != n || (init.diag_sqrt.rows() != 1 && init.diag_sqrt.cols() != 1))
    throw UsageError{"--init-dir: " + path("diag_sqrt0.csv") + " is " + shape_of(init.diag_sqrt) +
                     ", but the matrix has " + std::to_string(n) + " columns, so diag_sqrt0 must be 1x" +
                     std::to_string(n)};
  if (init.V.rows() != n || init.V.cols() != n)
    throw UsageError{"--init-dir: " + path("V0.csv") + " is " + shape_of(init.V) + ", but the matrix is " +
                     shape_of(m) + ", so V0 must be " + shape_string(n, n)};
  return init;
}

std::string loss_graph_dot(const Matrix<double>& m, const SvdOptions& o, const std::string& name, bool as_run,
                           bool f32) {
  return f32 ? graph_dot<float>(m, o, name, as_run) : graph_dot<double>(m, o, name, as_run);
}

std::string loss_profile_table(const Matrix<double>& m, const SvdOptions& o, const std::string& name,
                               bool f32) {
  return f32 ? profile_table<float>(m, o, name) : profile_table<double>(m, o, name);
}

void write_outputs(OutDir& out, const SvdResult& r, const std::string& trace_name) {
  out.replace_with([&](const fs::path& dir) {
    auto path = [&](const char* f) {
      fault_hook(f, true);
      return (dir / f).string();
    };
    io::write_matrix_csv(path("U.csv"), r.U);
    fault_hook("U.csv", false);
    io::write_matrix_csv(path("singular_values.csv"), r.singular_values.transpose());
    fault_hook("singular_values.csv", false);
    io::write_matrix_csv(path("V.csv"), r.V);
    fault_hook("V.csv", false);
    std::string loss = "iteration,loss\n";
    for (std::size_t i = 0; i < r.loss_history.size(); ++i)
      loss += std::to_string(i) + "," + shortest(r.loss_history[i]) + "\n";
    io::write_file_atomic(path("loss.csv"), loss);
    fault_hook("loss.csv", false);
    write_convergence_svg(path("convergence.svg"), r.loss_history,
                          "How fast does the gradient algorithm converge?", trace_name);
    fault_hook("convergence.svg", false);
  });
}

void write_graph(const std::string& file, const std::string& dot) {
  if (file == "-") {
    std::fwrite(dot.data(), 1, dot.size(), stdout);
    return;
  }
  const DeferSignals defer;
  io::write_file_atomic(file, dot);
}

nlohmann::ordered_json to_json(const SvdResult& r, const io::MatrixShape& m) {
  auto number = [](double v) {
    return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json();
  };
  nlohmann::ordered_json sv = nlohmann::ordered_json::array();
  for (Index i = 0; i < r.singular_values.size(); ++i) sv.push_back(number(r.singular_values(i)));
  nlohmann::ordered_json j;
  j["singular_values"] = sv;
  j["iterations"] = r.iterations;
  j["converged"] = r.converged();
  j["final_loss"] = number(r.final_loss);
  j["seconds"] = number(r.seconds);
  j["reconstruction_error"] = number(r.reconstruction_error);
  j["orthogonality_error"] = number(r.orthogonality_error);
  j["error_bound"] = number(r.error_bound);
  j["recipe"] = to_string(r.recipe);
  j["optimizer"] = r.method.empty() ? std::string(to_string(r.optimizer)) : r.method;
  j["dtype"] = to_string(r.dtype);
  j["shape"] = {m.rows, m.cols};
  j["rank"] = r.rank;
  return j;
}

void print_summary(const SvdResult& r, const io::MatrixShape& m, const std::string& name) {
  const std::string method = r.method.empty() ? std::string(to_string(r.optimizer)) : r.method;
  std::printf("%s: %s, recipe %s, %s, %s, rank %ld\n", name.c_str(), shape_of(m).c_str(), to_string(r.recipe),
              method.c_str(), to_string(r.dtype), static_cast<long>(r.rank));
  std::printf("singular values:");
  for (Index i = 0; i < r.singular_values.size(); ++i) std::printf(" %.10g", r.singular_values(i));
  std::printf("\n%s after %ld iterations in %.3g s, final loss %.3g\n", to_string(r.status), r.iterations,
              r.seconds, r.final_loss);
  std::printf("reconstruction error %.3g, orthogonality error %.3g, error bound %.3g\n",
              r.reconstruction_error, r.orthogonality_error, r.error_bound);
  if (!r.message.empty() && r.converged()) std::printf("%s\n", r.message.c_str());
}

std::string duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  char buf[32];
  if (s < 60)
    std::snprintf(buf, sizeof buf, "%.0fs", std::ceil(s));
  else if (s < 3600)
    std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(s / 60), static_cast<int>(s) % 60);
  else
    std::snprintf(buf, sizeof buf, "%dh%02dm", static_cast<int>(s / 3600), static_cast<int>(s / 60) % 60);
  return buf;
}

}  // namespace tapegrad::svd::tool
