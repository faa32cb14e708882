#include "tapegrad/optim/lbfgs.hpp"

#include <cmath>
#include <limits>
#include <string>

#include "flat.hpp"
#include "serialize.hpp"

namespace tapegrad::optim {

void validate(const LbfgsOptions& o) {
  if (!(o.lr > 0) || !std::isfinite(o.lr))
    throw std::invalid_argument("Invalid L-BFGS lr: " + std::to_string(o.lr));
  if (o.history_size < 1)
    throw std::invalid_argument("Invalid L-BFGS history_size: " + std::to_string(o.history_size));
  if (!(o.c1 > 0 && o.c1 < 1)) throw std::invalid_argument("Invalid L-BFGS c1: " + std::to_string(o.c1));
  if (o.max_backtracks < 1) throw std::invalid_argument("Invalid L-BFGS max_backtracks");
}

template <class T>
Lbfgs<T>::Lbfgs(std::vector<Parameter<T>*> params, LbfgsOptions o) : options_(o) {
  validate(o);
  this->add_group(std::move(params), o.lr);
  for (auto* p : this->parameters()) {
    n_ += p->value.size();
    diag_parts_.emplace_back(p->value.rows(), p->value.cols());
  }
  mem_ = o.history_size;
  s_.resize(n_, mem_);
  y_.resize(n_, mem_);
  rho_.resize(mem_);
  alpha_.resize(mem_);
  for (Vec* v : {&x0_, &x_, &g_, &gnew_, &d_, &q_, &diag_, &at_, &grad_at_}) v->resize(n_);
}

template <class T>
LbfgsOptions Lbfgs<T>::options() const {
  LbfgsOptions o = options_;
  o.lr = this->lr();
  return o;
}

// L-BFGS has one parameter group: group_parameters(0) is a reference, where parameters() would build a
// vector on every call (these run on every step).
template <class T>
void Lbfgs<T>::gather_grads(Vec& g) const {
  detail::gather_grads(this->group_parameters(0), g,
                       [this](const Parameter<T>& p, std::size_t i) { this->check_grad(p, 0, i); });
}

template <class T>
void Lbfgs<T>::set_reduce(Reduce sum, std::vector<T> weights) {
  if (weights.empty()) weights.assign(this->parameters().size(), T(1));
  if (weights.size() != this->parameters().size())
    throw std::invalid_argument("lbfgs.set_reduce: " + std::to_string(weights.size()) + " weights for " +
                                std::to_string(this->parameters().size()) + " parameters");
  reduce_ = std::move(sum);
  weights_ = std::move(weights);
}

template <class T>
template <class... F>
std::array<T, sizeof...(F)> Lbfgs<T>::totals(const F&... f) const {
  if (!reduce_) return {f(Index(0), n_)...};  // one process: exactly the whole-vector expressions
  std::array<T, sizeof...(F)> out{};
  Index k = 0;
  std::size_t i = 0;
  for (auto* p : this->group_parameters(0)) {
    const Index len = p->value.size();
    const T w = weights_[i++];
    if (w != T(0)) {
      std::size_t j = 0;
      ((out[j++] += w * f(k, len)), ...);
    }
    k += len;
  }
  reduce_(out.data(), static_cast<int>(out.size()));
  return out;
}

template <class T>
bool Lbfgs<T>::at_known_point() const {
  // The gradients too: a caller's zero_grad() between steps must not pass for a stationary point.
  return known_ && detail::at_point(this->group_parameters(0), at_, &grad_at_);
}

template <class T>
void Lbfgs<T>::step() {
  if (!closure_) {
    throw std::logic_error(
        "tapegrad: lbfgs.step() needs the closure that re-evaluates the loss: set_closure(closure) first, or "
        "call step(closure, loss)");
  }
  T f = loss_;
  if (!at_known_point()) {
    f = closure_();
    ++evaluations_;
  }
  step(closure_, f);
}

template <class T>
void Lbfgs<T>::reset_state() {
  len_ = 0;
  head_ = 0;
  known_ = false;
}

template <class T>
T Lbfgs<T>::step(const Closure& closure, T loss) {
  known_ = false;  // until this step ends where it says
  const T out = step_from(closure, loss);
  detail::gather_values(this->group_parameters(0), at_);
  gather_grads(grad_at_);
  loss_ = out;
  known_ = true;
  return out;
}

template <class T>
T Lbfgs<T>::step_from(const Closure& closure, T loss) {
  const T f = loss;
  detail::gather_values(this->group_parameters(0), x0_);
  gather_grads(g_);
  if (precondition_) {
    for (auto& m : diag_parts_) m.setOnes();
    precondition_(diag_parts_);
    Index k = 0;
    for (const auto& m : diag_parts_) {
      diag_.segment(k, m.size()) = m.reshaped();
      k += m.size();
    }
  } else {
    diag_.setOnes();
  }

  // Dot products and norms over every entry (every process's, with a reduce).
  auto dot = [](const auto& a, const auto& b) {
    return [&a, &b](Index k, Index len) { return a.segment(k, len).dot(b.segment(k, len)); };
  };
  auto sq = [](const auto& a) {
    return [&a](Index k, Index len) { return a.segment(k, len).squaredNorm(); };
  };

  // Two-loop recursion: q = H g, newest pair first, then oldest first.
  q_ = g_;
  for (long i = 0; i < len_; ++i) {
    const long j = (head_ - 1 - i + mem_) % mem_;
    const auto sj = s_.col(j);
    alpha_(j) = rho_(j) * totals(dot(sj, q_))[0];
    q_ -= alpha_(j) * y_.col(j);
  }
  T gamma;
  if (len_ > 0) {
    const long j = (head_ - 1 + mem_) % mem_;
    const auto sj = s_.col(j), yj = y_.col(j);
    const auto [sy, ydy] = totals(dot(sj, yj), [&](Index k, Index len) {
      return yj.segment(k, len).dot(diag_.segment(k, len).cwiseProduct(yj.segment(k, len)));
    });
    gamma = sy / ydy;
  } else {
    const T dn = std::sqrt(totals([&](Index k, Index len) {
      return diag_.segment(k, len).cwiseProduct(g_.segment(k, len)).squaredNorm();
    })[0]);
    gamma = dn > T(1) ? T(1) / dn : T(1);
  }
  q_ = gamma * diag_.cwiseProduct(q_);
  for (long i = len_ - 1; i >= 0; --i) {
    const long j = (head_ - 1 - i + mem_) % mem_;
    const auto yj = y_.col(j);
    const T b = rho_(j) * totals(dot(yj, q_))[0];
    q_ += (alpha_(j) - b) * s_.col(j);
  }
  d_ = -q_;
  T gd = totals(dot(g_, d_))[0];
  if (!(gd < T(0))) {  // not a descent direction (rounding, or a bad pair): restart from -D g
    len_ = 0;
    d_ = -diag_.cwiseProduct(g_);
    const T dn = std::sqrt(totals(sq(d_))[0]);
    if (dn > T(1)) d_ /= dn;
    gd = totals(dot(g_, d_))[0];
  }

  // Backtracking line search.
  failed_ = false;
  const T allowance = T(16) * std::numeric_limits<T>::epsilon() * std::abs(f);
  T t = T(this->lr());
  T fnew = f;
  int tries = 0;
  for (;; ++tries) {
    if (tries == options_.max_backtracks) {
      failed_ = true;
      break;
    }
    x_ = x0_ + t * d_;
    detail::scatter_values(x_, this->group_parameters(0));
    try {
      fnew = closure();
    } catch (...) {
      // a closure that throws leaves the parameters where the step began
      detail::scatter_values(x0_, this->group_parameters(0));
      throw;
    }
    ++evaluations_;
    if (std::isfinite(fnew) && fnew <= f + T(options_.c1) * t * gd + allowance) break;
    t /= T(2);
  }
  if (failed_) {
    detail::scatter_values(x0_, this->group_parameters(0));
    ++evaluations_;
    return closure();
  }
  gather_grads(gnew_);
  // Curvature pair, kept only when safely positive.
  auto sv = s_.col(head_);
  auto yv = y_.col(head_);
  sv = x_ - x0_;
  yv = gnew_ - g_;
  const auto [sy, ss, yy] = totals(dot(sv, yv), sq(sv), sq(yv));
  if (sy > T(1e-10) * std::sqrt(ss) * std::sqrt(yy)) {
    rho_(head_) = T(1) / sy;
    head_ = (head_ + 1) % mem_;
    len_ = std::min(len_ + 1, mem_);
  }
  return fnew;
}

template <class T>
void Lbfgs<T>::save_body(detail::StateWriter& w) const {
  w.i64(options_.history_size);
  w.f64(options_.c1);
  w.i64(options_.max_backtracks);
  w.i64(len_);
  w.i64(head_);
  w.matrix(s_);
  w.matrix(y_);
  w.matrix(Matrix<T>(rho_));
}

template <class T>
std::function<void()> Lbfgs<T>::load_body(detail::StateReader& r) {
  const auto mem = r.i64("history_size");
  if (mem != options_.history_size) r.fail("history_size differs: saved " + std::to_string(mem));
  const double c1 = r.f64("c1");
  const auto mb = r.i64("max_backtracks");
  const auto len = r.i64("history length"), head = r.i64("history head");
  if (len < 0 || len > mem || head < 0 || head >= mem) r.fail("corrupted history indices");
  auto s = r.matrix<T>("s history", n_, mem_);
  auto y = r.matrix<T>("y history", n_, mem_);
  auto rho = r.matrix<T>("rho", mem_, 1);
  return [=, this, s = std::move(s), y = std::move(y), rho = std::move(rho)]() mutable {
    options_.c1 = c1;
    options_.max_backtracks = static_cast<int>(mb);
    len_ = len;
    head_ = head;
    s_ = std::move(s);
    y_ = std::move(y);
    rho_ = rho.col(0);
    known_ = false;
  };
}

template class Lbfgs<float>;
template class Lbfgs<double>;

}  // namespace tapegrad::optim
