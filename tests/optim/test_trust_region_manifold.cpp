// TrustRegion on a manifold (set_manifold): the Riemannian trust region on the sphere and on a product of two
// Stiefel manifolds reaches the known minimisers (extreme eigenvectors, leading singular vectors; references
// from Eigen's eigen- and SVD solvers, used here only to check), with the iterates on the manifold throughout
// and fast final convergence; incomplete hooks are refused.
#include <catch2/catch.hpp>

#include <Eigen/Eigenvalues>
#include <Eigen/SVD>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "tapegrad/autodiff.hpp"
#include "tapegrad/optim.hpp"

using namespace tapegrad;
using namespace tapegrad::optim;
using M = Matrix<double>;

namespace {

M sym(const M& a) { return (a + a.transpose()) / 2; }

// Orthonormal columns spanning a's (modified Gram-Schmidt, twice): the QR retraction's Q.
void orthonormalize(M& a) {
  for (Index j = 0; j < a.cols(); ++j) {
    for (int pass = 0; pass < 2; ++pass)
      for (Index i = 0; i < j; ++i) a.col(j) -= a.col(i).dot(a.col(j)) * a.col(i);
    a.col(j).normalize();
  }
}

// The Stiefel manifold {X : XᵀX = I} for each listed parameter, with the embedded metric: P_X(Z) =
// Z − X sym(XᵀZ), the Hessian's curvature term −V sym(Xᵀ ∇f), the QR retraction.
TrustRegion<double>::Manifold stiefel(std::vector<Parameter<double>*> xs) {
  TrustRegion<double>::Manifold m;
  m.project = [xs](std::vector<M>& z) {
    for (std::size_t i = 0; i < xs.size(); ++i) z[i] -= xs[i]->value * sym(xs[i]->value.transpose() * z[i]);
  };
  m.curvature = [xs](const std::vector<M>& egrad, const std::vector<M>& v, std::vector<M>& hv) {
    for (std::size_t i = 0; i < xs.size(); ++i) hv[i] -= v[i] * sym(xs[i]->value.transpose() * egrad[i]);
  };
  m.retract = [xs] {
    for (auto* x : xs) orthonormalize(x->value);
  };
  return m;
}

double orthogonality(const M& x) {
  return (x.transpose() * x - M::Identity(x.cols(), x.cols())).cwiseAbs().maxCoeff();
}

}  // namespace

TEST_CASE("TrustRegion on the sphere finds the smallest eigenvalue's eigenvector", "[optim][trust_region]") {
  // min xᵀAx over ‖x‖ = 1 (the sphere is St(n, 1)): the eigenvector of the smallest eigenvalue.
  const Index n = 30;
  const M b = M::Random(n, n);
  const M a = sym(b) + M::Identity(n, n) * 0.1;
  Parameter<double> x(M::Random(n, 1));
  orthonormalize(x.value);
  HvpTape<double> tape(
      [&](Tape<double>& t) { return sum(mul(t.parameter(x), matmul(t.constant(a), t.parameter(x)))); }, {&x});
  TrustRegionOptions o;
  o.gtol = 1e-12;
  o.cg_kappa = 0.1;
  o.cg_theta = 1;  // quadratic final convergence
  TrustRegion<double> tr(tape, o);
  tr.set_manifold(stiefel({&x}));
  std::vector<double> gnorms;
  while (tr.status() == TrustRegionStatus::running) {
    tr.step();
    gnorms.push_back(double(tr.gradient_norm()));
    REQUIRE(orthogonality(x.value) <= 1e-14);  // every accepted and rejected point stays on the sphere
  }
  REQUIRE(tr.status() == TrustRegionStatus::converged);
  const Eigen::SelfAdjointEigenSolver<M> eig(a);
  const double lambda_min = eig.eigenvalues()(0);
  CHECK(std::abs(double(tr.loss()) - lambda_min) <= 1e-13 * eig.eigenvalues().cwiseAbs().maxCoeff());
  CHECK(std::abs(x.value.col(0).dot(eig.eigenvectors().col(0))) == Approx(1.0).epsilon(1e-12));
  INFO("iterations " << tr.iterations() << ", HVPs " << tr.hvps());
  CHECK(tr.iterations() <= 40);
}

TEST_CASE("TrustRegion on two Stiefel manifolds finds the top singular triplets (Brockett cost)",
          "[optim][trust_region]") {
  // min −tr(Uᵀ A V N), N = diag(k, ..., 1)/k, over UᵀU = I, VᵀV = I: U, V the leading k singular vectors in
  // order, u_jᵀ A v_j = σ_j. Recorded with the tape's ops; HVPs from the HvpTape.
  const Index m = 40, n = 25, k = 4;
  const M a = M::Random(m, n);
  M w(1, k);
  for (Index j = 0; j < k; ++j) w(0, j) = double(k - j) / double(k);
  Parameter<double> u(M::Random(m, k)), v(M::Random(n, k));
  orthonormalize(u.value);
  orthonormalize(v.value);
  HvpTape<double> tape(
      [&](Tape<double>& t) {
        return -sum(mul(mul(t.parameter(u), matmul(t.constant(a), t.parameter(v))), t.constant(w)));
      },
      {&u, &v});
  TrustRegionOptions o;
  o.gtol = 1e-11;
  o.cg_kappa = 0.1;
  o.cg_theta = 1;
  TrustRegion<double> tr(tape, o);
  tr.set_manifold(stiefel({&u, &v}));
  std::vector<double> gnorms;
  while (tr.status() == TrustRegionStatus::running) {
    tr.step();
    if (tr.last_step_taken()) gnorms.push_back(double(tr.gradient_norm()));
    REQUIRE(std::max(orthogonality(u.value), orthogonality(v.value)) <= 1e-13);
  }
  REQUIRE(tr.status() == TrustRegionStatus::converged);
  const Eigen::JacobiSVD<M> svd(a);
  for (Index j = 0; j < k; ++j) {
    CAPTURE(j);
    const double rho = u.value.col(j).dot(a * v.value.col(j));
    CHECK(std::abs(rho - svd.singularValues()(j)) <= 1e-12 * svd.singularValues()(0));
  }
  // Quadratic at the end: the last taken steps' gradient norms fall as |g_{i+1}| <= C |g_i|^2.
  REQUIRE(gnorms.size() >= 3);
  const std::size_t e = gnorms.size();
  CHECK(gnorms[e - 1] <= 1e3 * gnorms[e - 2] * gnorms[e - 2]);
  INFO("iterations " << tr.iterations() << ", HVPs " << tr.hvps());
  CHECK(tr.iterations() <= 60);
}

TEST_CASE("TrustRegion::set_manifold needs all three hooks", "[optim][trust_region]") {
  Parameter<double> x(M::Ones(3, 1) / std::sqrt(3.0));
  HvpTape<double> tape([&](Tape<double>& t) { return sum(square(t.parameter(x))); }, {&x});
  TrustRegion<double> tr(tape);
  auto m = stiefel({&x});
  m.retract = nullptr;
  CHECK_THROWS_WITH(tr.set_manifold(m), Catch::Contains("retract"));
}
