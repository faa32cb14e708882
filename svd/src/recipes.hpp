// The two recipes behind tapegrad::svd::solve (private to the svd library).
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include "tapegrad/autodiff/gemm.hpp"
#include "tapegrad/optim.hpp"
#include "tapegrad/svd/partition.hpp"
#include "tapegrad/svd/solver.hpp"

namespace tapegrad::svd::detail {

/// Runs the seed recipe on m (validated by solve()); fills U, singular_values, V, loss history and status.
/// With a partition, m holds this process's rows and so does the result's U.
template <class T>
SvdResult run_seed(const Matrix<double>& m, const SvdOptions& options, const Partition* part = nullptr);

/// Runs the auto recipe on m (with a partition: this process's rows, see run_seed).
template <class T>
SvdResult run_auto(const Matrix<double>& m, const SvdOptions& options, const Partition* part = nullptr);

/// The optimizer the options ask for, over `params`, with `defaults` filling what the options leave unset.
template <class T>
std::unique_ptr<optim::Optimizer<T>> make_optimizer(OptimizerKind kind, const SvdOptions& o,
                                                    std::vector<Parameter<T>*> params, double default_lr,
                                                    double default_momentum, double default_weight_decay);

/// What `converged` promises (docs/svd-auto.md, "What converged means"): in float64 every singular value
/// within 1e-10·σ_max of the exact one and the factors orthonormal to 1e-10; in float32, 1e-5 and 1e-5.
/// The stopping test: residual() <= residual_bound and orthogonality <= orthogonality_bound.
inline double residual_bound(bool float32) { return float32 ? 5e-6 : 5e-11; }
inline double orthogonality_bound(bool float32) { return float32 ? 1e-5 : 1e-10; }

/// The measured accuracy of a candidate decomposition (in double, whatever the recipe's dtype).
struct Accuracy {
  /// A bound on max_j |ρ_j − σ_j| / max_j ρ_j, where ρ_j = u_jᵀ M v_j / (‖u_j‖ ‖v_j‖) (the Rayleigh quotient
  /// of the triplet, what the recipes report) and σ_j the exact singular value. Each x_j = [û_j; v̂_j]/√2 is a
  /// unit vector for H = [0 M; Mᵀ 0], whose eigenvalues are ±σ_i and |m − n| zeros, with residual
  /// r_j = ‖H x_j − ρ_j x_j‖. Kahan: |ρ_j − λ| <= r_j for some eigenvalue λ. Kato–Temple, when the other
  /// eigenvalues are at least δ_j > r_j away (bounded from the other triplets' ρ_i ± r_i, −ρ_i, and 0 when
  /// m != n; only with all min(m, n) triplets): |ρ_j − λ| <= r_j² / δ_j. Orthonormal factors make the λ's
  /// distinct.
  double residual = 0;
  double orthogonality = 0;  ///< max(max|UᵀU − I|, max|VᵀV − I|)
};

/// Measures the Accuracy of U (this process's rows of it, with a partition), s (k entries) and V for m
/// (this process's rows; m and s may be scaled by the same factor) and keeps the Rayleigh quotients (rho()).
/// The workspace is allocated once, so that measuring during the iterations allocates nothing.
template <class T>
class AccuracyMeter {
 public:
  AccuracyMeter(Index rows, Index cols, Index k, Index global_rows, const Partition* part)
      : part_(part),
        full_(k == std::min(global_rows, cols)),
        zeros_(global_rows != cols),
        u_(rows, k),
        v_(cols, k),
        mv_(rows, k),
        mtu_(cols, k),
        utu_(k, k),
        vtv_(k, k),
        sums_(3 * k, 1),
        rho_(k, 1),
        r_(k, 1) {}

  template <class U, class V>
  Accuracy operator()(const Matrix<double>& m, const U& u, const V& v) {
    Accuracy a = start(u, v);
    if (u_.cols() == 0) return a;
    gemm(false, false, 1.0, m, v_, 0.0, mv_);
    gemm(true, false, 1.0, m, u_, 0.0, mtu_);
    if (part_) part_->sum(mtu_.data(), mtu_.size());
    return finish(a);
  }

  /// The same measurement from the products M V and Mᵀ U the caller has (of u and v as given, not
  /// normalised; mtu summed over every process's rows): no product with M here.
  template <class U, class V, class MV, class MTU>
  Accuracy operator()(const U& u, const V& v, const MV& mv, const MTU& mtu) {
    Accuracy a = start(u, v);
    const Index k = u_.cols();
    if (k == 0) return a;
    for (Index j = 0; j < k; ++j) {  // the products of the unit columns
      mv_.col(j) = mv.col(j).template cast<double>() / std::sqrt(vtv_(j, j));
      mtu_.col(j) = mtu.col(j).template cast<double>() / std::sqrt(utu_(j, j));
    }
    return finish(a);
  }

  /// max_j r_j / max_j |ρ_j| of the last measurement: the residuals themselves, which bound the singular
  /// vectors' error (r_j / gap), where Accuracy::residual may be the smaller Kato–Temple bound on the values.
  double residual_norm() const { return residual_norm_; }
  /// The Rayleigh quotients u_jᵀ M v_j / (‖u_j‖ ‖v_j‖) of the last measurement, in m's scale.
  const Matrix<double>& rho() const { return rho_; }

 private:
  // Orthogonality, and u_, v_ as unit columns (utu_, vtv_ keep the squared norms on their diagonals).
  template <class U, class V>
  Accuracy start(const U& u, const V& v) {
    u_ = u.template cast<double>();
    v_ = v.template cast<double>();
    const Index k = u_.cols();
    Accuracy a;
    if (k == 0) return a;
    syrk(false, 1.0, u_, 0.0, utu_);  // tapegrad's products: BLAS where it pays, no allocation
    if (part_) part_->sum(utu_.data(), utu_.size());
    syrk(false, 1.0, v_, 0.0, vtv_);
    double o = 0;
    for (Index j = 0; j < k; ++j)
      for (Index i = 0; i < k; ++i) {
        const double d = i == j ? 1.0 : 0.0;
        o = std::max({o, std::abs(utu_(i, j) - d), std::abs(vtv_(i, j) - d)});
      }
    const double inf = std::numeric_limits<double>::infinity();
    a.orthogonality = std::isfinite(o) && std::isfinite(utu_.sum() + vtv_.sum()) ? o : inf;
    for (Index j = 0; j < k; ++j) {  // unit columns
      u_.col(j) /= std::sqrt(utu_(j, j));
      v_.col(j) /= std::sqrt(vtv_(j, j));
    }
    return a;
  }

  // The residuals and the bound, from mv_ = M v̂ and mtu_ = Mᵀ û (complete over processes).
  Accuracy finish(Accuracy a) {
    const Index k = u_.cols();
    const double inf = std::numeric_limits<double>::infinity();
    for (Index j = 0; j < k; ++j) sums_(j) = u_.col(j).dot(mv_.col(j));
    if (part_) part_->sum(sums_.data(), k);
    rho_ = sums_.topRows(k);
    for (Index j = 0; j < k; ++j) sums_(j) = (mv_.col(j) - rho_(j) * u_.col(j)).squaredNorm();
    if (part_) part_->sum(sums_.data(), k);
    double rho_max = 0;
    for (Index j = 0; j < k; ++j) {
      r_(j) = std::sqrt((sums_(j) + (mtu_.col(j) - rho_(j) * v_.col(j)).squaredNorm()) / 2);
      rho_max = std::max(rho_max, std::abs(rho_(j)));
    }
    double worst = 0;
    for (Index j = 0; j < k; ++j) {
      const double aj = std::abs(rho_(j));
      double bound = r_(j);
      if (full_) {  // every eigenvalue of H is accounted for: the gap to the others
        double gap = zeros_ ? aj : inf;
        for (Index i = 0; i < k; ++i) {
          const double ai = std::abs(rho_(i));
          gap = std::min(gap, aj + ai - r_(i));
          if (i != j) gap = std::min(gap, std::abs(aj - ai) - r_(i));
        }
        if (gap > r_(j)) bound = std::min(bound, r_(j) * r_(j) / gap);
      }
      worst = std::max(worst, bound);
    }
    a.residual = rho_max > 0 ? worst / rho_max : (worst == 0 ? 0.0 : inf);
    if (!(a.residual >= 0)) a.residual = inf;
    const double r_max = r_.maxCoeff();
    residual_norm_ = rho_max > 0 ? r_max / rho_max : (r_max == 0 ? 0.0 : inf);
    if (!(residual_norm_ >= 0)) residual_norm_ = inf;
    return a;
  }

  const Partition* part_;
  bool full_, zeros_;
  Matrix<double> u_, v_, mv_, mtu_, utu_, vtv_, sums_, rho_, r_;
  double residual_norm_ = 0;
};

/// max|m_ij| over every process's rows (1 for a zero matrix): the first scale of a matrix, exact, so that
/// m / scale neither overflows nor underflows in its norm.
inline double max_abs(const Matrix<double>& m, const Partition* part) {
  double a = m.size() > 0 ? m.cwiseAbs().maxCoeff() : 0.0;
  if (part) part->max(&a, 1);
  return a > 0 ? a : 1.0;
}

/// Divergence test shared by the recipes: a non-finite loss, or one grown far above its best.
inline bool diverging(double loss, double best, double first) {
  return !std::isfinite(loss) || (loss > 1e6 * best && loss > 1e3 * first);
}

}  // namespace tapegrad::svd::detail
