// The hard-matrix set (tests/data/svd/hard, made by its generate.py with known singular values):
// every run of the auto recipe that reports converged is within 1e-10·σ_max of the exact singular values,
// with factors orthonormal to 1e-10, and at least 80% of the set converges (float64). Prints the fraction.
#include <catch2/catch.hpp>
#include <fstream>
#include <iostream>

#include "tapegrad/io/files.hpp"
#include "tapegrad/svd/solver.hpp"
#include "test_data.hpp"

using namespace tapegrad;
using namespace tapegrad::svd;

TEST_CASE("hard matrices: converged means within 1e-10 sigma_max, and most converge", "[svd][hard]") {
  std::ifstream list(test::data_path("svd/hard/cases.txt"));
  REQUIRE(list.good());
  std::string name;
  int total = 0, converged = 0;
  while (std::getline(list, name)) {
    if (name.empty()) continue;
    CAPTURE(name);
    const Matrix<double> m = io::read_matrix(test::data_path("svd/hard/" + name + ".npy"));
    const Matrix<double> exact = test::read_csv("svd/hard/" + name + ".s.csv").transpose();
    REQUIRE(exact.size() == std::min(m.rows(), m.cols()));
    // 3000 iterations bound the test's time (the trust region needs at most a few hundred here).
    SvdOptions o;
    o.iterations = 3000;
    const SvdResult r = solve(m, o);
    ++total;
    INFO(r.message);
    CHECK(r.status != Status::Diverged);
    if (!r.converged()) {
      std::cout << "  not converged: " << name << ": " << r.message << "\n";
      continue;
    }
    ++converged;
    const double smax = exact(0);
    const double err = (r.singular_values - exact).cwiseAbs().maxCoeff() / smax;
    CAPTURE(err, r.error_bound, r.orthogonality_error);
    CHECK(err <= 1e-10);
    CHECK(r.orthogonality_error <= 1e-10);
  }
  REQUIRE(total >= 40);
  std::cout << "hard matrices: " << converged << " of " << total << " converged ("
            << 100.0 * converged / total << "%)\n";
  // The eight moderate cases (spectra to 1e-3, at scales 1e-250 ... 1e220) converge, so the check above has
  // cases to check at every scale.
  CHECK(converged >= 8);
  // The target: 80% (measured: 40 of 40 with the trust region on the Brockett cost and its preconditioner;
  // 8 of 40 with L-BFGS on the fit-plus-penalty loss, which stalls at ~1e-6·σ_max when singular values below
  // ~1e-5·σ_max or gaps below ~1e-6 are present).
  CHECK(converged >= 0.8 * total);
}

TEST_CASE("hard matrices, float32: converged means within 1e-5 sigma_max", "[svd][hard]") {
  // The stated float32 bound, on the moderate cases (a full float32 pass over the set would take long).
  int converged = 0;
  for (const char* scale : {"1e-250", "1", "1e154", "1e220"})
    for (const char* shape : {"5x4", "9x6"}) {
      const std::string name = std::string("moderate") + scale + "_" + shape;
      CAPTURE(name);
      const Matrix<double> m = io::read_matrix(test::data_path("svd/hard/" + name + ".npy"));
      const Matrix<double> exact = test::read_csv("svd/hard/" + name + ".s.csv").transpose();
      SvdOptions o;
      o.dtype = Dtype::Float32;
      const SvdResult r = solve(m, o);
      INFO(r.message);
      if (!r.converged()) continue;
      ++converged;
      const double err = (r.singular_values - exact).cwiseAbs().maxCoeff() / exact(0);
      CAPTURE(err, r.error_bound, r.orthogonality_error);
      CHECK(err <= 1e-5);
      CHECK(r.orthogonality_error <= 1e-5);
    }
  std::cout << "hard matrices, float32: " << converged << " of 8 moderate cases converged\n";
  CHECK(converged >= 1);
}
