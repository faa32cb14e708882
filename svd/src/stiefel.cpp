// The auto recipe's manifold tools (docs/svd-auto.md): Gram–Schmidt onto orthonormal columns, and the
// preconditioned Riemannian trust region on the Brockett cost over two Stiefel manifolds.
#include "stiefel.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "tapegrad/autodiff/gemm.hpp"

namespace tapegrad::svd::detail {

// Modified Gram-Schmidt, twice ("twice is enough"): orthonormal columns spanning what a's columns
// span; a column that is (numerically) dependent on the earlier ones becomes a fresh unit vector
// orthogonal to them. Used to initialise and to leave spurious stationary points, never to decompose.
// With a partition, a holds this process's rows and every dot product is summed over processes.
template <class T>
void orthonormalize(Matrix<T>& a, const Partition* part) {
  const Index global_rows = part ? part->global_rows : a.rows(), row0 = part ? part->row_begin : 0;
  auto dot = [&](Index i, Index j) {
    T d = a.col(i).dot(a.col(j));
    if (part) part->sum(&d, 1);
    return d;
  };
  auto norm = [&](Index j) { return part ? std::sqrt(dot(j, j)) : a.col(j).norm(); };
  auto project_out = [&](Index j) {
    for (int pass = 0; pass < 2; ++pass)
      for (Index i = 0; i < j; ++i) a.col(j) -= dot(i, j) * a.col(i);
  };
  for (Index j = 0; j < a.cols(); ++j) {
    const T before = norm(j);
    project_out(j);
    T n = norm(j);
    for (Index e = 0; n <= T(1e-3) * before && e < global_rows; ++e) {  // dependent column: try unit vectors
      a.col(j).setZero();
      if (e >= row0 && e < row0 + a.rows()) a(e - row0, j) = T(1);
      project_out(j);
      n = norm(j);
    }
    a.col(j) /= n;
  }
}

// The top-k triplets as a Riemannian trust-region minimisation (docs/svd-auto.md, "Top-k: a trust region
// on two Stiefel manifolds"): U (m×k) and V (n×k) with orthonormal columns, minimising the Brockett cost
//   f(U, V) = −Σ_j w_j u_jᵀ Mn v_j,   w_j = (k − j)/k,
// recorded with the graph's ops (matmul, mul, sum), whose minimisers on St(m,k) × St(n,k) are the top-k
// singular pairs in order (distinct weights pin each pair to its place). optim::TrustRegion steps on the
// manifold: the embedded metric's projection Z − X sym(XᵀZ), the curvature term −Ż sym(Xᵀ∇f) and a
// retraction by Gram–Schmidt; its Hessian-vector products replay an HvpTape of the loss (two products with
// M each). `after_step` runs after every outer iteration (first at the start) and says whether to stop.
template <class T>
optim::TrustRegionStatus trust_region_topk(const Matrix<T>& mn, Parameter<T>& u, Parameter<T>& v,
                                           long max_iterations, const AfterStep<T>& after_step, long& hvps) {
  const Index k = u.value.cols();
  orthonormalize(u.value);
  orthonormalize(v.value);
  Tape<T> tape;
  Matrix<T> w(1, k);
  for (Index j = 0; j < k; ++j) w(0, j) = T(k - j) / T(k);
  auto U = tape.parameter(u), V = tape.parameter(v);
  auto loss = -sum(mul(mul(U, matmul(tape.constant_view(mn, "M"), V)), tape.constant(w, "w")));
  HvpTape<T> h(tape, loss, {&u, &v});
  optim::TrustRegionOptions to;
  to.gtol = 0;  // the accuracy test stops it
  to.max_iterations = max_iterations;
  // CG to SciPy's inner tolerance (measured: fewer products than Manopt's 0.1, 1 on the benchmark's
  // matrices), at most 100 products per outer iteration: near the end the tolerance falls below what
  // rounding lets CG reach, and an uncapped CG would run to the dimension (50 000 products at 4000x1000).
  to.max_cg_iterations = 100;
  optim::TrustRegion<T> tr(h, to);
  // The hooks work in k×k matrices made here and tapegrad::gemm (BLAS for large k, no allocation).
  Matrix<T> xtz(k, k), sym(k, k);
  auto project_out = [&](const Matrix<T>& x, Matrix<T>& z) {  // z -= x sym(xᵀ z)
    gemm(true, false, T(1), x, z, T(0), xtz);
    sym = (xtz + xtz.transpose()) / T(2);
    gemm(false, false, T(-1), x, sym, T(1), z);
  };
  auto curve = [&](const Matrix<T>& x, const Matrix<T>& eg, const Matrix<T>& dz, Matrix<T>& hz) {
    gemm(true, false, T(1), x, eg, T(0), xtz);  // hz -= dz sym(xᵀ ∇f)
    sym = (xtz + xtz.transpose()) / T(2);
    gemm(false, false, T(-1), dz, sym, T(1), hz);
  };
  typename optim::TrustRegion<T>::Manifold st;
  st.project = [&](std::vector<Matrix<T>>& z) {
    project_out(u.value, z[0]);
    project_out(v.value, z[1]);
  };
  st.curvature = [&](const std::vector<Matrix<T>>& eg, const std::vector<Matrix<T>>& dz,
                     std::vector<Matrix<T>>& hz) {
    curve(u.value, eg[0], dz[0], hz[0]);
    curve(v.value, eg[1], dz[1], hz[1]);
  };
  st.retract = [&] {
    orthonormalize(u.value);
    orthonormalize(v.value);
  };
  tr.set_manifold(st);
  // Preconditioner: the inverse of the Riemannian Hessian at a critical point, with the current Rayleigh
  // quotients ρ_j = u_jᵀ Mn v_j in place of σ_j (docs/svd-auto.md, "The preconditioner"). A tangent vector
  // splits into rotations within the columns' span, U Ω and V Ψ (Ω, Ψ skew), and parts leaving it, K and L.
  // There the Hessian is diagonal, w_j ρ_j on column j of K and of L (ignoring the coupling of K and L
  // through the rest of Mn: that block's conditioning is the gap after σ_k, which no preconditioner built
  // from the top k removes), and couples each pair (Ω_ij, Ψ_ij), i < j, by a 2×2 block whose eigenvalues
  // are ½(w_i − w_j)(ρ_i − ρ_j) and ½(w_i + w_j)(ρ_i + ρ_j): the rotations between close singular values,
  // slow for CG without it. Eigenvalues are floored at 1e-8 × the largest (1e3 ε in float32), so flat
  // directions (zero singular values) stay bounded.
  Matrix<T> rho(1, k);
  Matrix<T> om(k, k), ps(k, k), om2(k, k), ps2(k, k);
  tr.set_preconditioner([&](const std::vector<Matrix<T>>& r, std::vector<Matrix<T>>& z) {
    // ρ at the current point, from the gradient the tape holds there (HvpTape recomputes it only if the
    // point moved): ∇_U f = −Mn V diag(w), so ρ_j = −u_jᵀ (∇_U f)_j / w_j.
    rho = -(u.value.array() * h.gradient()[0].array()).colwise().sum() / w.array();
    const Matrix<T>&U = u.value, &V = v.value;
    T top = T(0);
    for (Index j = 0; j < k; ++j) top = std::max(top, w(0, j) * std::abs(rho(0, j)));
    // The floor is also at least 1e3 ε: the preconditioner multiplies a residual's rounding (~ε relative)
    // by up to 1/floor, and in float32 1e-8 would turn it into steps of norm ~10 along the flat directions
    // (measured: a close pair stalled at error bound 7e-3; test_solver's close-values case).
    const T floor = std::max(top, std::numeric_limits<T>::min()) *
                    std::max(T(1e-8), T(1e3) * std::numeric_limits<T>::epsilon());
    auto inv = [floor](T lambda) { return T(1) / std::max(std::abs(lambda), floor); };
    gemm(true, false, T(1), U, r[0], T(0), om);  // Ω = Uᵀ r_U, K = r_U − U Ω
    gemm(true, false, T(1), V, r[1], T(0), ps);
    z[0] = r[0];
    z[1] = r[1];
    gemm(false, false, T(-1), U, om, T(1), z[0]);
    gemm(false, false, T(-1), V, ps, T(1), z[1]);
    for (Index j = 0; j < k; ++j) {
      const T d = inv(w(0, j) * rho(0, j));
      z[0].col(j) *= d;
      z[1].col(j) *= d;
    }
    for (Index j = 0; j < k; ++j) {
      om2(j, j) = ps2(j, j) = T(0);
      for (Index i = 0; i < j; ++i) {
        const T a = (om(i, j) - om(j, i)) / T(2), b = (ps(i, j) - ps(j, i)) / T(2);
        const T wi = w(0, i), wj = w(0, j), ri = rho(0, i), rj = rho(0, j);
        const T sum = inv((wi - wj) * (ri - rj) / T(2)) * (a + b);   // along (1, 1)
        const T diff = inv((wi + wj) * (ri + rj) / T(2)) * (a - b);  // along (1, −1)
        om2(i, j) = (sum + diff) / T(2);
        ps2(i, j) = (sum - diff) / T(2);
        om2(j, i) = -om2(i, j);
        ps2(j, i) = -ps2(i, j);
      }
    }
    gemm(false, false, T(1), U, om2, T(1), z[0]);
    gemm(false, false, T(1), V, ps2, T(1), z[1]);
  });
  // After each step, the products the accuracy test needs, from the gradient at the current point:
  // ∇_U f = −Mn V diag(w), ∇_V f = −Mnᵀ U diag(w) (no product with M of its own).
  Matrix<T> mv(u.value.rows(), k), mtu(v.value.rows(), k), minus_inv_w = -w.cwiseInverse();
  auto measured_after = [&](long it) {
    const auto& g = h.gradient();
    mv = (g[0].array().rowwise() * minus_inv_w.row(0).array()).matrix();
    mtu = (g[1].array().rowwise() * minus_inv_w.row(0).array()).matrix();
    double cg_floor = 0;
    const bool stop = after_step(it, mv, mtu, cg_floor);
    tr.set_cg_floor(cg_floor);
    return stop;
  };
  for (long it = 0; !measured_after(it) && tr.status() == optim::TrustRegionStatus::running; ++it) tr.step();
  hvps = tr.hvps();
  return tr.status();
}

template void orthonormalize<float>(Matrix<float>&, const Partition*);
template void orthonormalize<double>(Matrix<double>&, const Partition*);
template optim::TrustRegionStatus trust_region_topk<float>(const Matrix<float>&, Parameter<float>&,
                                                           Parameter<float>&, long, const AfterStep<float>&,
                                                           long&);
template optim::TrustRegionStatus trust_region_topk<double>(const Matrix<double>&, Parameter<double>&,
                                                            Parameter<double>&, long,
                                                            const AfterStep<double>&, long&);

}  // namespace tapegrad::svd::detail
