// docs/choosing-an-optimizer.md: the seed SVD of M1 with SGD + momentum and with Adam, side by side.
// Usage: example_docs_choosing_an_optimizer tests/data/seed/svd/M1
#include <cstdio>
#include <string>

#include "tapegrad/io/files.hpp"
#include "tapegrad/svd/solver.hpp"

using namespace tapegrad;

/// The first iteration whose loss is below `level` (-1 if none).
long first_below(const std::vector<double>& losses, double level) {
  for (std::size_t i = 0; i < losses.size(); ++i)
    if (losses[i] < level) return static_cast<long>(i);
  return -1;
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const std::string dir = argv[1];
  const Matrix<double> m = io::read_matrix(dir + "/M.csv");
  const Matrix<double> exact = io::read_matrix(dir + "/lapack_singular_values.csv").transpose();

  // The notebooks' recipe and starting point; only the optimizer changes.
  svd::SvdOptions options;
  options.recipe = svd::Recipe::Seed;
  options.init = svd::SeedInit{io::read_matrix(dir + "/U0.csv"), io::read_matrix(dir + "/diag_sqrt0.csv"),
                               io::read_matrix(dir + "/V0.csv")};

  options.optimizer = svd::OptimizerKind::Sgd;  // lr 0.9, momentum 0.9 (the seed's defaults)
  const svd::SvdResult sgd = svd::solve(m, options);
  options.optimizer = svd::OptimizerKind::Adam;  // lr 1e-3, weight decay 1e-5 (the seed's defaults)
  const svd::SvdResult adam = svd::solve(m, options);

  std::printf("%-5s %12s %12s %12s %14s\n", "", "loss < 1e-3", "loss < 1e-6", "final loss", "max |s - s*|");
  for (const svd::SvdResult* r : {&sgd, &adam}) {
    std::printf("%-5s %12ld %12ld %12.3g %14.3g\n", r->method.c_str(), first_below(r->loss_history, 1e-3),
                first_below(r->loss_history, 1e-6), r->final_loss,
                (r->singular_values - exact).cwiseAbs().maxCoeff());
  }
  // SGD with momentum converges to float32 precision on M1; Adam's weight decay (1e-5) keeps it ~1e-3 away.
  const bool ok = (sgd.singular_values - exact).cwiseAbs().maxCoeff() < 1e-5 &&
                  (adam.singular_values - exact).cwiseAbs().maxCoeff() < 1e-2 &&
                  sgd.final_loss < adam.final_loss;
  return ok ? 0 : 1;
}
