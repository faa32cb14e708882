// Prints the table of docs/svd-auto.md: for each test matrix, the auto recipe's iterations, seconds
// and accuracy next to Eigen's BDCSVD. A measurement, not a test.
//   build/release/bin/svd_vs_eigen tests/data
#include <Eigen/SVD>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tapegrad/io/files.hpp"
#include "tapegrad/svd/solver.hpp"

using namespace tapegrad;

namespace {

double seconds_of(const std::function<void()>& f, int min_reps = 3) {
  // Best of a few repetitions: the machine is shared.
  double best = 1e300;
  for (int r = 0; r < min_reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

void row(const std::string& name, const Matrix<double>& m, Index k, const Matrix<double>& lapack,
         const std::string& facts) {
  svd::SvdOptions o;
  if (k < std::min(m.rows(), m.cols())) o.rank = k;
  svd::SvdResult r;
  const double t_gd = seconds_of([&] { r = svd::solve(m, o); });
  Matrix<double> sv;
  const double t_eigen = seconds_of([&] {
    Eigen::BDCSVD<Matrix<double>> e(m, Eigen::ComputeThinU | Eigen::ComputeThinV);
    sv = e.singularValues();
  });
  const double smax = lapack(0);
  double err = 0;
  for (Index i = 0; i < k; ++i) {
    const double ref = lapack(i);
    err = std::max(err, std::abs(r.singular_values(i) - ref) / (ref > 1e-12 * smax ? ref : smax));
  }
  std::printf("| %s | %ldx%ld | %ld | %s | %ld | %.2e | %.2e | %.2e | %.3g | %.3g | %.0fx | %s |\n",
              name.c_str(), long(m.rows()), long(m.cols()), long(k), svd::to_string(r.status), r.iterations,
              err, r.reconstruction_error, r.orthogonality_error, t_gd * 1e3, t_eigen * 1e3, t_gd / t_eigen,
              facts.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  const std::string data = argc > 1 ? argv[1] : "tests/data";
  std::printf(
      "| matrix | shape | k | status | iterations | max sv rel. error | reconstruction | orthogonality | "
      "tapegrad ms | BDCSVD ms | ratio | conditioning "
      "|\n|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (int i = 1; i <= 5; ++i) {
    const std::string d = data + "/seed/svd/M" + std::to_string(i) + "/";
    const auto m = io::read_matrix(d + "M.csv");
    const Matrix<double> lapack = io::read_matrix(d + "lapack_singular_values.csv").transpose();
    Index kk = std::min(m.rows(), m.cols());
    double gap = 1;
    for (Index j = 1; j < kk; ++j) gap = std::min(gap, (lapack(j - 1) - lapack(j)) / lapack(j - 1));
    char facts[96];
    std::snprintf(facts, sizeof facts, "min rel. gap %.3f, σmax/σmin %.3g", gap, lapack(0) / lapack(kk - 1));
    row("seed M" + std::to_string(i), m, kk, lapack, facts);
  }
  std::ifstream f(data + "/svd/manifest.json");
  const auto manifest = nlohmann::json::parse(f);
  for (const auto& c : manifest["cases"]) {
    const std::string name = c["name"];
    const auto m = io::read_matrix(data + "/svd/" + name + "/M.csv");
    const Matrix<double> lapack = io::read_matrix(data + "/svd/" + name + "/singular_values.csv").transpose();
    const Index k =
        c["rank_requested"].is_null() ? std::min(m.rows(), m.cols()) : c["rank_requested"].get<Index>();
    char facts[96];
    const auto gap = c.contains("min_rel_gap_topk") ? c["min_rel_gap_topk"] : c["min_rel_gap"];
    std::snprintf(facts, sizeof facts, "min rel. gap %s, cond %s", gap.dump().c_str(),
                  c["cond"].dump().c_str());
    row(name, m, k, lapack, facts);
  }
}
