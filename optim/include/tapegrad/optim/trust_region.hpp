// Truncated Newton in a trust region: Steihaug–Toint conjugate gradients on Hessian-vector products.
//
// The outer iteration is SciPy's `trust-ncg` (scipy/optimize/_trustregion.py, _trustregion_ncg.py; Nocedal &
// Wright, Numerical Optimization, 2nd ed., Algorithms 4.1 and 7.2): at x with loss f and gradient g, CG on
// H p = -g from p = 0 stops when the residual ‖r‖ < min(cg_kappa, ‖g‖^cg_theta) ‖g‖, when the step reaches
// the trust-region boundary, or on a direction of non-positive curvature (then the step goes to the boundary
// along it, at whichever of the two crossings has the lower model value). The ratio ρ of actual to predicted
// decrease sets the radius: ρ < 0.25 -> radius /= 4; ρ > 0.75 with the step on the boundary -> radius =
// min(2 radius, max_radius); the step is taken iff ρ > eta (and the model decreased).
//
// ρ is regularised as in Manopt's `trustregions` (Absil, Baker & Gallivan 2007; manopt/solvers/trustregions):
// δ = max(1, |f|) ε rho_regularization (ε: the scalar type's epsilon) is added to the actual and to the
// predicted decrease, so that near the optimum, where both are at rounding level, ρ tends to 1 instead of
// being noise, and the last steps are taken.
//
// Preconditioner (optional): a function applying M⁻¹ (M symmetric positive definite, approximating H) to a
// residual. CG is then preconditioned CG, and the trust region is measured in the M-norm ‖p‖_M = √(pᵀMp),
// as in Conn, Gould & Toint, Trust-Region Methods (2000), Algorithm 7.5.1, and as Manopt's tCG does: the
// norms of the iterates come from recurrences, so M itself is never needed. Without one, M = I and the
// iteration is SciPy's. The CG stopping test always uses the plain residual norm ‖r‖.
//
// Differences from SciPy: the predicted value m(p) and the models at the two boundary crossings come from H p
// tracked along CG (SciPy spends one more HVP on m(p) and two on the crossings); CG is capped at
// max_cg_iterations (SciPy: no cap); ρ is regularised (rho_regularization = 0 gives SciPy's ρ; SciPy stops
// where the predicted decrease is <= 0, here such a step is rejected and the radius shrinks); the stopping
// test is ‖g‖ <= gtol (SciPy: ‖g‖ < gtol). On the tests' problems the iterates are SciPy's up to rounding.
#pragma once

#include <functional>
#include <vector>

#include "tapegrad/autodiff/hvp.hpp"
#include "tapegrad/optim/optimizer.hpp"

namespace tapegrad::optim {

/// The trust-region Newton method's options. The defaults are SciPy trust-ncg's, but for gtol.
struct TrustRegionOptions {
  double initial_radius = 1;  ///< the first trust-region radius
  double max_radius = 1000;   ///< the radius never grows past this
  double eta = 0.15;          ///< a step is taken iff ρ > eta; in [0, 0.25)
  /// converged when ‖g‖ <= gtol (2-norm over all entries; 0: only at a zero gradient). 1e-10 suits float64; a
  /// float run rarely gets there (it then ends with max_iterations): give it 1e-4 to 1e-6, by the gradient's
  /// scale.
  double gtol = 1e-10;
  long max_iterations = 1000;  ///< outer iterations (taken or not) before status max_iterations
  long max_cg_iterations = 0;  ///< CG iterations per outer iteration; 0: the number of entries
  /// CG stops at ‖r‖ < min(cg_kappa, ‖g‖^cg_theta) ‖g‖. SciPy's cg_kappa, cg_theta are 0.5, 0.5 (final
  /// convergence of order 1.5); Manopt's 0.1, 1 (quadratic).
  double cg_kappa = 0.5;
  double cg_theta = 0.5;            ///< the exponent of that CG tolerance (above)
  double rho_regularization = 1e3;  ///< Manopt's: δ = max(1, |f|) ε rho_regularization; 0: none (SciPy)
  double min_radius = 1e-14;        ///< status radius_collapsed when the radius falls below this
};

/// Throws std::invalid_argument for initial_radius <= 0, max_radius < initial_radius, eta outside
/// [0, 0.25), gtol < 0, max_iterations < 1, max_cg_iterations < 0, cg_kappa outside (0, 1], cg_theta < 0,
/// rho_regularization < 0, min_radius < 0 or min_radius >= initial_radius (and for any NaN).
void validate(const TrustRegionOptions& o);

/// Where a TrustRegion optimizer is.
enum class TrustRegionStatus {
  running,           ///< neither converged nor stopped
  converged,         ///< ‖g‖ <= gtol
  max_iterations,    ///< max_iterations outer iterations done
  radius_collapsed,  ///< the radius fell below min_radius: no step of the model decreases the loss
};

/// "running", "converged", "max_iterations" or "radius_collapsed".
const char* to_string(TrustRegionStatus s);

/// Trust-region Newton with Steihaug–Toint CG (see the file comment): quadratic or superlinear convergence
/// near a minimum on smooth full-batch problems, from Hessian-vector products only.
///
/// The optimizer holds its problem: the HVP source and the loss. step() is one outer iteration (one
/// trial point: a loss and gradient evaluation, and the CG iterations' HVPs); minimize() steps until the
/// status is no longer running. After every step the parameters are at the current (accepted) point.
///
/// Steady state (after the first step), a step allocates nothing of its own: the work vectors are made by
/// the constructor (the HVP source and the closure may allocate).
template <class T>
class TrustRegion : public Optimizer<T> {
 public:
  /// Re-evaluates at the parameters' current values: zeroes and recomputes every gradient, returns the loss.
  using Closure = std::function<T()>;
  /// hv = H v at the parameters' current values (hv is preset to matrices of the parameters' shapes).
  using HessianVectorProduct =
      std::function<void(const std::vector<Matrix<T>>& v, std::vector<Matrix<T>>& hv)>;
  /// z = M⁻¹ r (z is preset to matrices of the parameters' shapes), at the parameters' current values.
  using Preconditioner = std::function<void(const std::vector<Matrix<T>>& r, std::vector<Matrix<T>>& z)>;

  /// The problem is an HvpTape (preferred): its parameters are the optimizer's, losses and gradients come
  /// from it (the parameters' grad is not used), HVPs replay it. It must outlive the optimizer.
  explicit TrustRegion(HvpTape<T>& tape, TrustRegionOptions o = {});
  /// The problem is a closure (loss, gradients into Parameter::grad, like L-BFGS's) and an HVP callback.
  TrustRegion(std::vector<Parameter<T>*> params, Closure closure, HessianVectorProduct hvp,
              TrustRegionOptions o = {});

  /// A lower bound on CG's relative tolerance for the next steps: CG stops at ‖r‖ < max(floor, min(cg_kappa,
  /// ‖g‖^cg_theta)) ‖g‖. For a caller whose own stopping test says how much the next step must achieve (an
  /// SVD solver needing the error to fall by a factor 2 solves to 0.5, not to the default's rounding-level
  /// tolerance near the end). 0 (the default): the options' rule alone. Not saved with the state. Throws
  /// std::invalid_argument outside [0, 1].
  void set_cg_floor(double floor);
  /// Preconditioned CG with this M⁻¹, the trust region in the M-norm (none by default).
  void set_preconditioner(Preconditioner p) { precondition_ = std::move(p); }
  /// A Riemannian trust region (Absil, Baker & Gallivan 2007; Manopt's `trustregions`) on a manifold embedded
  /// in the parameters' space, with the embedded metric. The hooks act at the parameters' current values:
  struct Manifold {
    /// z = the orthogonal projection of z onto the tangent space (in place): makes the Riemannian gradient of
    /// the Euclidean one, and keeps CG's vectors tangent.
    std::function<void(std::vector<Matrix<T>>& z)> project;
    /// hv += the curvature term of the Riemannian Hessian (before projection): Hess f[v] = P(∇²f v + term),
    /// given the Euclidean gradient; for the Stiefel manifold −v sym(Xᵀ ∇f).
    std::function<void(const std::vector<Matrix<T>>& egrad, const std::vector<Matrix<T>>& v,
                       std::vector<Matrix<T>>& hv)>
        curvature;
    /// The parameters' values (a point plus a tangent step) back onto the manifold, in place (a retraction).
    std::function<void()> retract;
  };
  /// Steps on `m` instead of the flat space (the parameters must be on it already). All three hooks are
  /// needed.
  void set_manifold(Manifold m);

  /// One outer iteration: a CG solve in the trust region, a trial point, the radius update, and the step
  /// taken or not. Evaluates the loss first if the parameters are not at the point the optimizer knows
  /// (the first step, or values changed from outside). Does nothing when the status is not running.
  void step() override;
  /// Steps until the status is not running; returns it.
  TrustRegionStatus minimize();

  /// converged, max_iterations, radius_collapsed, or running.
  TrustRegionStatus status() const { return status_; }
  /// The loss at the current point (after a step).
  T loss() const { return f_; }
  /// ‖g‖ at the current point (after a step).
  T gradient_norm() const { return gnorm_; }
  /// The current trust-region radius.
  double radius() const { return radius_; }
  /// Whether the last step's trial point was taken.
  bool last_step_taken() const { return taken_; }
  /// The last step's ρ (regularised).
  double last_rho() const { return rho_; }
  /// Outer iterations so far (taken or not).
  long iterations() const { return iterations_; }
  /// Hessian-vector products so far (one per CG iteration).
  long hvps() const { return hvps_; }
  /// CG iterations so far.
  long cg_iterations() const { return cg_iterations_; }
  /// CG iterations of the last step.
  long last_cg_iterations() const { return last_cg_; }
  /// Loss-and-gradient evaluations so far (with an HvpTape, also the ones an HVP makes at a point the tape
  /// had left: after a rejected trial).
  long evaluations() const { return evaluations_; }

  /// Back to the initial radius, counters zero, status running; the point is evaluated again.
  void reset_state() override;
  const char* name() const override { return "trust_region"; }
  /// The options.
  TrustRegionOptions options() const { return options_; }

 private:
  using Vec = Eigen::Matrix<T, Eigen::Dynamic, 1>;
  void init(TrustRegionOptions o);
  T evaluate(Vec& g, Vec& eg);  // loss at the current values, gradient into g (eg: the Euclidean one)
  void hessian_times(const Vec& v, Vec& hv);
  void precondition(const Vec& r, Vec& z);
  void check_shapes(const char* who) const;  // parts_out_ has the parameters' shapes
  bool at_known_point();                     // the parameters' values are x_ and f_, g_ are known
  void update_status();
  void save_body(detail::StateWriter& w) const override;
  std::function<void()> load_body(detail::StateReader& r) override;

  TrustRegionOptions options_;
  HvpTape<T>* tape_ = nullptr;
  Closure closure_;
  HessianVectorProduct hvp_;
  Preconditioner precondition_;
  Index n_ = 0;
  long max_cg_ = 0;
  Manifold manifold_;
  bool on_manifold_ = false;
  Vec eg_, egt_;  // Euclidean gradients at x_ and at the trial point (on a manifold)
  std::vector<Matrix<T>> parts_eg_;
  Vec x_, g_, xt_, gt_, p_, r_, y_, d_, hd_;  // point, gradient, trial point and gradient, CG vectors
  std::vector<Matrix<T>> parts_in_, parts_out_;
  T f_ = T(0), gnorm_ = T(0);
  bool known_ = false;           // f_, g_ are the loss and gradient at x_
  bool tape_elsewhere_ = false;  // the HvpTape's point is a rejected trial, not x_
  double radius_ = 1, rho_ = 0, cg_floor_ = 0;
  bool taken_ = false;
  TrustRegionStatus status_ = TrustRegionStatus::running;
  long iterations_ = 0, hvps_ = 0, cg_iterations_ = 0, last_cg_ = 0, evaluations_ = 0;
};

/// \cond
extern template class TrustRegion<float>;
extern template class TrustRegion<double>;
/// \endcond

}  // namespace tapegrad::optim
