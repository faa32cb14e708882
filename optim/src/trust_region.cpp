#include "tapegrad/optim/trust_region.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <string>

#include "flat.hpp"
#include "serialize.hpp"

namespace tapegrad::optim {

namespace {
void bad(const char* what, double v) {
  throw std::invalid_argument(std::string("Invalid trust-region ") + what + ": " + std::to_string(v));
}
}  // namespace

void validate(const TrustRegionOptions& o) {
  if (!(o.initial_radius > 0) || !std::isfinite(o.initial_radius))
    bad("initial_radius (must be > 0)", o.initial_radius);
  if (!(o.max_radius >= o.initial_radius) || !std::isfinite(o.max_radius))
    bad("max_radius (must be >= initial_radius and finite)", o.max_radius);
  if (!(o.eta >= 0 && o.eta < 0.25)) bad("eta (must be in [0, 0.25))", o.eta);
  if (!(o.gtol >= 0)) bad("gtol (must be >= 0)", o.gtol);
  if (o.max_iterations < 1) bad("max_iterations (must be >= 1)", static_cast<double>(o.max_iterations));
  if (o.max_cg_iterations < 0)
    bad("max_cg_iterations (must be >= 0; 0: the number of entries)",
        static_cast<double>(o.max_cg_iterations));
  if (!(o.cg_kappa > 0 && o.cg_kappa <= 1)) bad("cg_kappa (must be in (0, 1])", o.cg_kappa);
  if (!(o.cg_theta >= 0) || !std::isfinite(o.cg_theta)) bad("cg_theta (must be >= 0)", o.cg_theta);
  if (!(o.rho_regularization >= 0) || !std::isfinite(o.rho_regularization))
    bad("rho_regularization (must be >= 0)", o.rho_regularization);
  if (!(o.min_radius >= 0 && o.min_radius < o.initial_radius))
    bad("min_radius (must be in [0, initial_radius))", o.min_radius);
}

const char* to_string(TrustRegionStatus s) {
  static constexpr const char* kNames[] = {"running", "converged", "max_iterations", "radius_collapsed"};
  const auto i = static_cast<std::size_t>(s);  // kNames is in TrustRegionStatus's order
  return i < std::size(kNames) ? kNames[i] : "unknown";
}

template <class T>
TrustRegion<T>::TrustRegion(HvpTape<T>& tape, TrustRegionOptions o) : tape_(&tape) {
  validate(o);
  this->add_group(tape.parameters(), 0);
  init(o);
}

template <class T>
TrustRegion<T>::TrustRegion(std::vector<Parameter<T>*> params, Closure closure, HessianVectorProduct hvp,
                            TrustRegionOptions o)
    : closure_(std::move(closure)), hvp_(std::move(hvp)) {
  validate(o);
  if (!closure_ || !hvp_)
    throw std::invalid_argument("trust_region: the closure and the HVP callback must be set");
  this->add_group(std::move(params), 0);
  init(o);
}

template <class T>
void TrustRegion<T>::init(TrustRegionOptions o) {
  options_ = o;
  for (auto* p : this->group_parameters(0)) {
    n_ += p->value.size();
    parts_in_.emplace_back(p->value.rows(), p->value.cols());
    parts_out_.emplace_back(p->value.rows(), p->value.cols());
  }
  max_cg_ = o.max_cg_iterations > 0 ? o.max_cg_iterations : std::max<long>(1, static_cast<long>(n_));
  for (Vec* v : {&x_, &g_, &xt_, &gt_, &p_, &r_, &y_, &d_, &hd_}) v->setZero(n_);
  radius_ = o.initial_radius;
}

template <class T>
void TrustRegion<T>::set_cg_floor(double floor) {
  if (!(floor >= 0 && floor <= 1))
    throw std::invalid_argument("trust_region: the CG tolerance floor must be in [0, 1], got " +
                                std::to_string(floor));
  cg_floor_ = floor;
}

template <class T>
void TrustRegion<T>::set_manifold(Manifold m) {
  if (!m.project || !m.curvature || !m.retract)
    throw std::invalid_argument("trust_region: a manifold needs its project, curvature and retract hooks");
  manifold_ = std::move(m);
  on_manifold_ = true;
  eg_.setZero(n_);
  egt_.setZero(n_);
  parts_eg_ = parts_in_;
  known_ = false;
}

template <class T>
T TrustRegion<T>::evaluate(Vec& g, Vec& eg) {
  ++evaluations_;
  T f;
  if (tape_) {
    f = tape_->loss();
    detail::gather(tape_->gradient(), g);
  } else {
    f = closure_();
    detail::gather_grads(this->group_parameters(0), g,
                         [this](const Parameter<T>& p, std::size_t i) { this->check_grad(p, 0, i); });
  }
  if (on_manifold_) {  // the Riemannian gradient: the Euclidean one projected
    eg = g;
    detail::scatter(g, parts_out_);
    manifold_.project(parts_out_);
    detail::gather(parts_out_, g);
  }
  return f;
}

template <class T>
void TrustRegion<T>::hessian_times(const Vec& v, Vec& hv) {
  ++hvps_;
  detail::scatter(v, parts_in_);
  if (tape_) {
    if (tape_elsewhere_) {  // the tape recomputes the loss and gradient at x_ first
      ++evaluations_;
      tape_elsewhere_ = false;
    }
    detail::gather(tape_->hvp(parts_in_), hv);
  } else {
    hvp_(parts_in_, parts_out_);
    check_shapes("HVP callback");
    detail::gather(parts_out_, hv);
  }
  if (on_manifold_) {  // Hess f[v] = P(∇²f v + curvature term)
    detail::scatter(hv, parts_out_);
    detail::scatter(eg_, parts_eg_);
    manifold_.curvature(parts_eg_, parts_in_, parts_out_);
    manifold_.project(parts_out_);
    detail::gather(parts_out_, hv);
  }
}

template <class T>
void TrustRegion<T>::precondition(const Vec& r, Vec& z) {
  detail::scatter(r, parts_in_);
  precondition_(parts_in_, parts_out_);
  check_shapes("preconditioner");
  if (on_manifold_) manifold_.project(parts_out_);
  detail::gather(parts_out_, z);
}

template <class T>
void TrustRegion<T>::check_shapes(const char* who) const {
  for (std::size_t i = 0; i < parts_out_.size(); ++i) {
    const auto& m = parts_out_[i];
    const auto& v = parts_in_[i];
    if (m.rows() != v.rows() || m.cols() != v.cols())
      throw std::invalid_argument("trust_region: the " + std::string(who) + " returned a " +
                                  shape_string(m.rows(), m.cols()) + " matrix for parameter " +
                                  std::to_string(i) + " of shape " + shape_string(v.rows(), v.cols()));
  }
}

template <class T>
bool TrustRegion<T>::at_known_point() {
  return known_ && detail::at_point(this->group_parameters(0), x_);
}

template <class T>
void TrustRegion<T>::update_status() {
  if (gnorm_ <= T(options_.gtol))
    status_ = TrustRegionStatus::converged;
  else if (radius_ < options_.min_radius)
    status_ = TrustRegionStatus::radius_collapsed;
  else if (iterations_ >= options_.max_iterations)
    status_ = TrustRegionStatus::max_iterations;
  else
    status_ = TrustRegionStatus::running;
}

template <class T>
void TrustRegion<T>::reset_state() {
  radius_ = options_.initial_radius;
  rho_ = 0;
  taken_ = false;
  known_ = false;
  status_ = TrustRegionStatus::running;
  iterations_ = hvps_ = cg_iterations_ = last_cg_ = evaluations_ = 0;
}

template <class T>
TrustRegionStatus TrustRegion<T>::minimize() {
  do step();
  while (status_ == TrustRegionStatus::running);
  return status_;
}

template <class T>
void TrustRegion<T>::step() {
  if (!at_known_point()) {
    detail::gather_values(this->group_parameters(0), x_);
    f_ = evaluate(g_, eg_);
    gnorm_ = g_.norm();
    known_ = true;
    tape_elsewhere_ = false;
  }
  update_status();
  if (status_ != TrustRegionStatus::running) return;

  // Steihaug–Toint CG on H p = -g in ‖p‖_M <= radius. r = g + H p throughout; y = M⁻¹ r (y = r without a
  // preconditioner); pMp, pMd, dMd are pᵀMp, pᵀMd, dᵀMd (Conn, Gould & Toint's recurrences with one).
  const T delta = T(radius_), delta2 = delta * delta;
  const T tol =
      std::max(T(cg_floor_), std::min(T(options_.cg_kappa), std::pow(gnorm_, T(options_.cg_theta)))) * gnorm_;
  const bool prec = static_cast<bool>(precondition_);
  p_.setZero();
  r_ = g_;
  if (prec)
    precondition(r_, y_);
  else
    y_ = r_;
  T ry = r_.dot(y_);
  d_ = -y_;
  T pMp = 0, pMd = 0, dMd = ry;
  bool boundary = false;
  long j = 0;
  // The two crossings of ‖p + t d‖_M = radius, t_a <= t_b (SciPy's numerically stable formula).
  auto crossings = [&](T& ta, T& tb) {
    const T a = dMd, b = T(2) * pMd, c = pMp - delta2;
    const T disc = std::sqrt(std::max(T(0), b * b - T(4) * a * c));
    const T aux = b + std::copysign(disc, b);
    ta = -aux / (T(2) * a);
    tb = T(-2) * c / aux;
    if (ta > tb) std::swap(ta, tb);
  };
  while (j < max_cg_) {
    ++j;
    hessian_times(d_, hd_);
    const T dhd = d_.dot(hd_);
    if (!(dhd > T(0))) {
      // Non-positive curvature: to the boundary along d, at the crossing with the lower model value
      // m(p + t d) - m(p) = t (g + Hp)ᵀd + ½ t² dᵀHd = t rᵀd + ½ t² dᵀHd.
      T ta, tb;
      crossings(ta, tb);
      const T rd = r_.dot(d_);
      auto model = [&](T t) { return t * rd + T(0.5) * t * t * dhd; };
      const T t = model(ta) < model(tb) ? ta : tb;
      p_ += t * d_;
      r_ += t * hd_;
      boundary = true;
      break;
    }
    const T alpha = ry / dhd;
    const T pMp_next = pMp + T(2) * alpha * pMd + alpha * alpha * dMd;
    if (pMp_next >= delta2) {
      T ta, tb;
      crossings(ta, tb);
      p_ += tb * d_;
      r_ += tb * hd_;
      boundary = true;
      break;
    }
    p_ += alpha * d_;
    r_ += alpha * hd_;
    if (r_.norm() < tol) break;
    T ry_next;
    if (prec) {
      precondition(r_, y_);
      ry_next = r_.dot(y_);
    } else {
      ry_next = r_.squaredNorm();
    }
    const T beta = ry_next / ry;
    d_ = beta * d_ - (prec ? y_ : r_);
    if (prec) {
      pMp = pMp_next;
      pMd = beta * (pMd + alpha * dMd);
      dMd = ry_next + beta * beta * dMd;
    } else {  // M = I: the norms themselves, as SciPy
      pMp = p_.squaredNorm();
      pMd = p_.dot(d_);
      dMd = d_.squaredNorm();
    }
    ry = ry_next;
  }
  last_cg_ = j;
  cg_iterations_ += j;

  // Predicted decrease -m(p) = -(gᵀp + ½ pᵀHp), with Hp = r - g.
  const T predicted = -(g_.dot(p_) + T(0.5) * p_.dot(r_ - g_));
  xt_ = x_ + p_;
  detail::scatter_values(xt_, this->group_parameters(0));
  if (on_manifold_) {
    manifold_.retract();
    detail::gather_values(this->group_parameters(0), xt_);
  }
  T ft;
  try {
    ft = evaluate(gt_, egt_);
  } catch (...) {
    // a closure that throws leaves the parameters where the step began
    detail::scatter_values(x_, this->group_parameters(0));
    if (tape_) tape_elsewhere_ = true;
    throw;
  }
  const T reg =
      std::max(T(1), std::abs(f_)) * std::numeric_limits<T>::epsilon() * T(options_.rho_regularization);
  const T num = (f_ - ft) + reg, den = predicted + reg;
  const T rho = num / den;
  rho_ = static_cast<double>(rho);
  if (!(rho >= T(0.25)))
    radius_ *= 0.25;
  else if (rho > T(0.75) && boundary)
    radius_ = std::min(2 * radius_, options_.max_radius);
  taken_ = den > T(0) && rho > T(options_.eta) && std::isfinite(ft);
  if (taken_) {
    x_.swap(xt_);
    g_.swap(gt_);
    if (on_manifold_) eg_.swap(egt_);
    f_ = ft;
    gnorm_ = g_.norm();
  } else {
    detail::scatter_values(x_, this->group_parameters(0));
    if (tape_) {
      tape_elsewhere_ = true;
    } else {  // the parameters' grad back to the current point's
      Index k = 0;
      for (auto* q : this->group_parameters(0)) {
        q->grad.reshaped() = g_.segment(k, q->grad.size());
        k += q->grad.size();
      }
    }
  }
  ++iterations_;
  update_status();
}

namespace {
// The saved option fields, in order (serialize.hpp's WriteField / ReadField); O is TrustRegionOptions, const
// or not.
template <class O, class F>
void saved_fields(O& o, F f) {
  TAPEGRAD_SAVED_FIELDS(o, f, initial_radius, max_radius, eta, gtol, max_iterations, max_cg_iterations,
                        cg_kappa, cg_theta, rho_regularization, min_radius)
}
}  // namespace

template <class T>
void TrustRegion<T>::save_body(detail::StateWriter& w) const {
  saved_fields(options_, detail::WriteField{w});
  w.f64(radius_);
  w.i64(iterations_);
  w.i64(hvps_);
  w.i64(cg_iterations_);
  w.i64(evaluations_);
}

template <class T>
std::function<void()> TrustRegion<T>::load_body(detail::StateReader& r) {
  TrustRegionOptions o;
  saved_fields(o, detail::ReadField{r});
  try {
    validate(o);
  } catch (const std::invalid_argument& e) {
    r.fail(std::string("corrupted options: ") + e.what());
  }
  const double radius = r.f64("radius");
  if (!(radius > 0 && radius <= o.max_radius)) r.fail("corrupted radius");
  const auto it = r.i64("iterations"), hv = r.i64("hvps"), cg = r.i64("cg_iterations"),
             ev = r.i64("evaluations");
  if (it < 0 || hv < 0 || cg < 0 || ev < 0) r.fail("corrupted counters");
  return [=, this]() {
    options_ = o;
    max_cg_ = o.max_cg_iterations > 0 ? o.max_cg_iterations : std::max<long>(1, static_cast<long>(n_));
    radius_ = radius;
    iterations_ = it;
    hvps_ = hv;
    cg_iterations_ = cg;
    evaluations_ = ev;
    last_cg_ = 0;
    rho_ = 0;
    taken_ = false;
    known_ = false;  // the point is evaluated again by the next step
    status_ = TrustRegionStatus::running;
  };
}

template class TrustRegion<float>;
template class TrustRegion<double>;

}  // namespace tapegrad::optim
