// The auto recipe (docs/svd-auto.md):
//   1. scale: Mn = M / ‖M‖_F (computed without overflow), so every tolerance is relative and M × 1e±6 runs
//   exactly like M;
//   2. parametrise U (m×k), s (1×k, free sign: no d² whose gradient vanishes at 0), V (n×k);
//   3. minimise f = ½‖U diag(s) Vᵀ − Mn‖² + (μ/4)(‖UᵀU − I‖² + ‖VᵀV − I‖²), μ = 0.1, whose minimisers
//      are exactly the rank-k truncated SVDs, with L-BFGS preconditioned per column by 1/(s_j² + δ);
//      (on one process, by default: the Brockett cost on two Stiefel manifolds with a preconditioned
//      Riemannian trust region instead, trust_region_topk in stiefel.cpp, for any k; float32 for k < min(m,
//      n) only);
//   4. stop when the accuracy test holds (residuals and orthogonality, recipes.hpp); report divergence;
//   5. make s positive, sort descending, and flip each pair so that U's largest-|entry| is positive.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>
#include <random>

#include "recipes.hpp"
#include "stiefel.hpp"
#include "tapegrad/optim/trust_region.hpp"
#include "tapegrad/svd/loss.hpp"

namespace tapegrad::svd::detail {

namespace {
std::string sci(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", x);
  return buf;
}
constexpr double kMu = 0.1;     // weight of the orthogonality penalty (measured: docs/svd-auto.md)
constexpr double kDelta = 0.1;  // preconditioner floor: 1/(s_j² + δ)
}  // namespace

template <class T>
SvdResult run_auto(const Matrix<double>& m, const SvdOptions& o, const Partition* part) {
  // With a partition, m and U are this process's rows [row0, row0 + rows) of global_rows; s and V are
  // the same on every process, and every sum over rows is completed by the partition's hooks.
  const Index rows = m.rows(), cols = m.cols();
  const Index global_rows = part ? part->global_rows : rows, row0 = part ? part->row_begin : 0;
  const Index k = o.rank.value_or(std::min(global_rows, cols));
  // c = ‖M‖_F as max|m_ij| × ‖M / max|m_ij|‖_F (LAPACK's dnrm2 idea): no sum of squares over- or
  // underflows, so any finite scale runs like M / c.
  const double a = max_abs(m, part);
  double nrm = (m / a).squaredNorm();
  if (part) part->sum(&nrm, 1);
  nrm = nrm > 0 ? std::sqrt(nrm) : 1.0;
  const double c = a * nrm;
  if (!std::isfinite(c)) {
    throw SvdOptionError("the matrix's Frobenius norm (" + sci(a) + " x " + sci(nrm) +
                         ") is beyond the largest double (1.8e308), so its largest singular value may be "
                         "too: scale the matrix down");
  }
  const Matrix<double> mnd = (m / a) / nrm;  // ‖mnd‖_F = 1, in double for the accuracy test (one pass)
  // The loss reads Mn in T: mnd itself in float64 (no second copy of M), a float copy in float32.
  Matrix<T> mn_float;
  if constexpr (!std::is_same_v<T, double>) mn_float = mnd.cast<T>();
  const Matrix<T>& mn = [&]() -> const Matrix<T>& {
    if constexpr (std::is_same_v<T, double>)
      return mnd;
    else
      return mn_float;
  }();
  constexpr bool f32 = std::is_same_v<T, float>;
  // The gradient tolerance marks a stationary point; the accuracy test (residual and orthogonality,
  // recipes.hpp) decides whether it is a decomposition to the promised accuracy.
  const double tol = f32 ? 1e-6 : 1e-11;
  const double res_tol = o.tolerance.value_or(residual_bound(f32));
  const double orth_tol = std::max(orthogonality_bound(f32), 2 * res_tol);
  const long max_iter = o.iterations.value_or(20000);

  // Deterministic Gaussian start: columns of norm about 1, s = diag(Uᵀ Mn V).
  std::mt19937_64 rng(o.seed);
  std::normal_distribution<double> normal;
  auto randn = [&](Index r, Index cl) {
    return Matrix<T>(Matrix<double>::NullaryExpr(r, cl, [&] { return normal(rng); }).template cast<T>() /
                     T(std::sqrt(double(r))));
  };
  // U's entries in the order one process draws them (column by column over all rows), keeping this
  // process's rows: every process starts where one process would.
  Matrix<T> u0(rows, k);
  for (Index j = 0; j < k; ++j)
    for (Index i = 0; i < global_rows; ++i) {
      const double x = normal(rng);
      if (i >= row0 && i < row0 + rows) u0(i - row0, j) = T(x) / T(std::sqrt(double(global_rows)));
    }
  Parameter<T> u(std::move(u0), "U"), v(randn(cols, k), "V");
  // s = diag(Uᵀ Mn V), a sum over rows.
  auto refit_s = [&](Parameter<T>& sp) {
    sp.value = (u.value.array() * (mn * v.value).array()).colwise().sum();
    if (part) part->sum(sp.value.data(), sp.value.size());
  };
  Parameter<T> s(Matrix<T>(1, k), "s");
  refit_s(s);

  SvdResult r;
  r.recipe = Recipe::Auto;
  r.dtype = std::is_same_v<T, float> ? Dtype::Float32 : Dtype::Float64;
  r.rank = k;

  const auto start = std::chrono::steady_clock::now();
  Tape<T> tape;
  // auto_loss, or for the top-k triplets of a larger M its expanded form (no m×n residual).
  const bool expanded = auto_loss_expands(global_rows, cols, k);
  Var<T> loss = auto_recipe_loss(tape, u, s, v, mn, T(kMu), part ? part->row_blocks<T>() : RowBlocks<T>{});
  // What is reported as the loss is auto_loss's value: the expanded form plus ½‖Mn‖²_F.
  double loss_offset = 0;
  if (expanded) {
    loss_offset = 0.5 * double(mn.squaredNorm());
    if (part) part->sum(&loss_offset, 1);
  }
  auto reported = [loss_offset](T loss) { return double(loss) + loss_offset; };
  std::vector<Parameter<T>*> params = {&u, &s, &v};
  auto evaluate = [&] {
    tape.forward();
    for (auto* p : params) p->zero_grad();
    tape.backward(loss);
    return loss.value()(0, 0);
  };
  // L-BFGS's closure, made once: a std::function of this lambda allocates, and step() takes one.
  const typename optim::Lbfgs<T>::Closure closure = evaluate;
  auto grad_max = [&] {  // over every process's rows of U
    T g = 0;
    for (auto* p : params)
      if (p->grad.size() > 0) g = std::max(g, p->grad.cwiseAbs().maxCoeff());
    double gd = double(g);
    if (part) part->max(&gd, 1);
    return gd;
  };

  std::unique_ptr<optim::Lbfgs<T>> lbfgs;
  std::unique_ptr<optim::Optimizer<T>> first_order;
  // On one process, with the default method and step: the trust region on the Stiefel manifolds, with its
  // preconditioner (Krylov-like iteration counts; docs/svd-auto.md). In float32 for the top k only: a full
  // float32 SVD stalls there (error bound ~1e-2 on uniform 200x100, measured), where L-BFGS on the penalty
  // loss reaches the float32 test. Otherwise, and over several processes, L-BFGS on the penalty loss.
  const bool trust_region = !part && !o.optimizer && !o.lr && (!f32 || expanded);
  if (trust_region) {
    r.method = "trust-region";
  } else if (o.optimizer) {
    r.optimizer = *o.optimizer;
    r.method = to_string(*o.optimizer);
    first_order = make_optimizer<T>(*o.optimizer, o, params, 1e-2, 0.9, 0.0);
  } else {
    r.method = "lbfgs";
    optim::LbfgsOptions lo;
    lo.lr = o.lr.value_or(1.0);
    // History of up to 50 pairs, within 256 MB.
    const double n_entries = double((global_rows + cols + 1) * k);
    lo.history_size = std::clamp(long(256e6 / (2.0 * sizeof(T) * n_entries)), 5L, 50L);
    lbfgs = std::make_unique<optim::Lbfgs<T>>(params, lo);
    // U's rows are split over the processes; s and V are whole on each, so counted on the root only.
    if (part)
      lbfgs->set_reduce([part](T* x, int count) { part->sum(x, count); },
                        {T(1), T(part->root()), T(part->root())});
    lbfgs->set_preconditioner([&s](std::vector<Matrix<T>>& d) {
      // Column j of U and of V moves on the scale of 1/(s_j² + δ): the fit term's curvature there is s_j².
      for (Index j = 0; j < s.value.cols(); ++j) {
        const T w = T(1) / (s.value(0, j) * s.value(0, j) + T(kDelta));
        d[0].col(j).setConstant(w);
        d[2].col(j).setConstant(w);
      }
    });
  }

  Accuracy acc;
  AccuracyMeter<T> meter(rows, cols, k, global_rows, part);
  auto accurate = [&] {
    acc = meter(mnd, u.value, v.value);
    return acc.residual <= res_tol && acc.orthogonality <= orth_tol;
  };
  auto accuracy_text = [&] {
    return "error bound " + sci(acc.residual) + (acc.residual <= res_tol ? " <= " : " > ") + sci(res_tol) +
           ", orthogonality error " + sci(acc.orthogonality) +
           (acc.orthogonality <= orth_tol ? " <= " : " > ") + sci(orth_tol);
  };
  // The message of a run that meets the test after `its` iterations (either method adds its counts).
  auto converged_text = [&](long its) {
    return "converged: error bound " + sci(acc.residual) + " <= " + sci(res_tol) +
           " and orthogonality error " + sci(acc.orthogonality) + " <= " + sci(orth_tol) + " after " +
           std::to_string(its) + " iterations";
  };
  long stationary_at = -1;
  constexpr int kMaxEscapes = 20;
  int escapes = 0;

  if (o.record_loss) r.loss_history.reserve(1024);
  r.status = Status::NotConverged;
  long it = 0;
  T f = T(0);
  if (trust_region) {
    // auto_loss at U, diag(ρ), V with ρ_j = u_jᵀ Mn v_j (the accuracy test's Rayleigh quotients): what the
    // penalty path reports, there with the penalty exactly 0 (orthonormal columns).
    double fd = 0;
    const double half_norm2 = 0.5 * double(mn.squaredNorm());
    long hvps = 0;
    constexpr long kStall = 50;
    double mark = std::numeric_limits<double>::infinity();
    long marked_at = 0;
    bool stalled = false, ok = false;
    long polish_from = -1;
    double residual = 0;
    const auto status = trust_region_topk<T>(
        mn, u, v, max_iter,
        [&](long i, const Matrix<T>& mv, const Matrix<T>& mtu, double& cg_floor) {
          it = i;
          acc = meter(u.value, v.value, mv, mtu);
          // The residuals themselves within the bound, not only the values' bound (for a full SVD the smaller
          // Kato–Temple one): the singular vectors, and so the reconstruction, are then as accurate.
          residual = meter.residual_norm();
          ok = acc.residual <= res_tol && residual <= res_tol && acc.orthogonality <= orth_tol;
          // Once there, one more step towards 1e-3 of it (Newton's last step is cheap and its result no
          // longer depends on where the iteration stopped: one process and several, whose methods differ,
          // agree).
          const bool polished = residual <= 1e-3 * res_tol || polish_from >= 0;
          if (ok && polish_from < 0 && !polished) polish_from = i;
          const double target = ok ? 1e-3 * res_tol : res_tol;
          // The next step needs the residuals to fall by res_tol / residual, no more: CG solves to half that
          // (near the end a step then costs a few products, not a solve to rounding).
          cg_floor = std::clamp(0.5 * target / residual, 0.0, 0.5);
          fd = half_norm2 - 0.5 * meter.rho().squaredNorm();
          if (o.record_loss) r.loss_history.push_back(fd);
          if (o.progress && i % o.progress_every == 0) o.progress({i, max_iter, fd});
          // Stalled: the residuals have not halved in kStall outer iterations (each up to 100 products).
          if (residual < 0.5 * mark) {
            mark = residual;
            marked_at = i;
          }
          stalled = !ok && i - marked_at >= kStall;
          return (ok && (polished || i > polish_from)) || stalled;
        },
        hvps);
    f = T(fd - loss_offset);
    // The verdict is the test itself, measured in double against Mn (the iteration's own measurement reads
    // products in T: in float32 their rounding could pass a run the double test fails).
    const bool passed = ok && accurate();
    if (passed) {
      r.status = Status::Converged;
      r.message = converged_text(it) + " (" + std::to_string(hvps) + " Hessian-vector products)";
    } else if (ok) {
      r.message = "not converged: the iteration's own test held in " +
                  std::string(f32 ? "float32" : "float64") + " but the double-precision check does not (" +
                  accuracy_text() + ") after " + std::to_string(it) + " iterations. Try --dtype float64.";
    } else if (stalled) {
      r.message = "not converged: the error bound stopped decreasing (not halved in the last " +
                  std::to_string(kStall) + " of " + std::to_string(it) + " iterations, " +
                  std::to_string(hvps) + " Hessian-vector products; " + accuracy_text() +
                  "). Try --lr 1 for L-BFGS on the penalty loss (docs/svd-auto.md).";
    } else if (status == optim::TrustRegionStatus::radius_collapsed) {
      r.message = "not converged: the trust region collapsed at iteration " + std::to_string(it) + " (" +
                  accuracy_text() +
                  "). This matrix is beyond the solver (docs/svd-auto.md).";  // float64 only
    } else {
      r.message = "not converged after " + std::to_string(it) + " iterations (" + std::to_string(hvps) +
                  " Hessian-vector products): " + accuracy_text() +
                  ". Raise --iters, ask for fewer triplets with --rank, or loosen --tol (docs/svd-auto.md).";
    }
  } else {
    f = evaluate();
    const double f0 = reported(f);
    for (;; ++it) {
      const double fd = reported(f), g = grad_max();
      if (o.record_loss) r.loss_history.push_back(fd);
      if (o.progress && it % o.progress_every == 0) o.progress({it, max_iter, fd});
      if (!std::isfinite(fd) || !std::isfinite(g) || fd > 1e6 * std::max(f0, 1.0)) {
        r.status = Status::Diverged;
        r.message = "diverged at iteration " + std::to_string(it) + ": the loss " +
                    (std::isfinite(fd) ? "grew to " + sci(fd) : std::string("became non-finite")) +
                    " (it started at " + sci(f0) + "). Try a smaller --lr" +
                    (o.optimizer ? ", or leave --optimizer unset for the default L-BFGS" : std::string()) +
                    ".";
        break;
      }
      // The accuracy test (allocation-free): at a stationary point, then every 100 iterations once one was
      // reached.
      const bool measured = g <= tol || (stationary_at >= 0 && (it - stationary_at) % 100 == 0);
      const bool accurate_now = measured && accurate();
      if (g <= tol && escapes < kMaxEscapes && acc.orthogonality > std::max(1e-6, 1e3 * tol)) {
        // A stationary point that is not orthonormal is a saddle, not a decomposition: a rank-deficient
        // M can be fitted exactly by U, V with linearly dependent columns, where the penalty's gradient
        // vanishes too. A small random kick finds its descent direction (the penalty's negative curvature).
        ++escapes;
        // Back onto orthonormal columns (Gram-Schmidt of the current U and V), s refitted.
        orthonormalize(u.value, part);
        orthonormalize(v.value);
        refit_s(s);
        if (lbfgs) lbfgs->reset_state();
        f = evaluate();
        continue;
      }
      if (accurate_now) {
        r.status = Status::Converged;
        r.message =
            converged_text(it) + (escapes ? " (" + std::to_string(escapes) +
                                                " spurious stationary point(s) left by re-orthonormalising)"
                                          : std::string());
        break;
      }
      if (g <= tol && stationary_at < 0) stationary_at = it;
      if (it == max_iter) {
        accurate();
        r.message =
            "not converged after " + std::to_string(it) + " iterations: " + accuracy_text() +
            ". Raise --iters, ask for fewer triplets with --rank, or loosen --tol; many close singular "
            "values make gradient descent slow (docs/svd-auto.md).";
        break;
      }
      if (lbfgs) {
        f = lbfgs->step(closure, f);
        if (lbfgs->line_search_failed()) {
          // Rounding floor reached before the tolerance: report where we are.
          ++it;
          if (o.record_loss) r.loss_history.push_back(reported(f));
          if (accurate()) {
            r.status = Status::Converged;
            r.message = "converged: error bound " + sci(acc.residual) + " and orthogonality error " +
                        sci(acc.orthogonality) + " within the bounds after " + std::to_string(it) +
                        " iterations";
            break;
          }
          // At the first step with a learning rate given, the step it sets is what failed, not the matrix.
          const bool first_step = it <= 1 && o.lr.has_value();
          r.message =
              "not converged: the line search cannot decrease the loss any further at iteration " +
              std::to_string(it) + " (" + accuracy_text() + ")" +
              (first_step ? ". The first step, of length lr = " + sci(*o.lr) +
                                ", found no decrease in its halvings: try a smaller --lr, or leave it unset"
               : f32 ? ". Try --dtype float64."
                     : ". This matrix is beyond the solver (docs/svd-auto.md).");
          break;
        }
      } else {
        first_order->step();
        f = evaluate();
      }
    }
  }
  r.iterations = it;
  r.final_loss = reported(f);
  accurate();
  r.error_bound = acc.residual;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  // s ≥ 0 (flip v_j), sorted descending, then each pair signed so that U's largest-|entry| is positive.
  Matrix<double> U = u.value.template cast<double>(), V = v.value.template cast<double>();
  // The Rayleigh quotients u_jᵀ Mn v_j of unit columns: what the accuracy test bounds (recipes.hpp).
  Matrix<double> sv = meter.rho();
  Matrix<double> unorm2 = U.colwise().squaredNorm().transpose();  // over every process's rows
  if (part) part->sum(unorm2.data(), k);
  for (Index j = 0; j < k; ++j) {
    U.col(j) /= std::sqrt(unorm2(j));
    V.col(j).normalize();
  }
  for (Index j = 0; j < k; ++j) {
    if (sv(j) < 0) {
      sv(j) = -sv(j);
      V.col(j) = -V.col(j);
    }
  }
  std::vector<Index> order(static_cast<std::size_t>(k));
  std::iota(order.begin(), order.end(), Index(0));
  std::stable_sort(order.begin(), order.end(), [&](Index a, Index b) { return sv(a) > sv(b); });
  r.U.resize(rows, k);
  r.V.resize(cols, k);
  r.singular_values.resize(k, 1);
  // The sign of each column's largest-|entry| (the first such row), over all processes' rows.
  Matrix<double> col_sign(k, 1);
  if (!part) {
    for (Index j = 0; j < k; ++j) {
      Index imax = 0;
      U.col(j).cwiseAbs().maxCoeff(&imax);
      col_sign(j) = U(imax, j) < 0 ? -1.0 : 1.0;
    }
  } else {
    Matrix<double> big(k, 1), first(k, 1);
    for (Index j = 0; j < k; ++j) big(j) = rows > 0 ? U.col(j).cwiseAbs().maxCoeff() : 0.0;
    part->max(big.data(), k);
    for (Index j = 0; j < k; ++j) {  // −(global row) of this process's first entry of that size
      first(j) = -double(global_rows);
      for (Index i = 0; i < rows; ++i)
        if (std::abs(U(i, j)) == big(j)) {
          first(j) = -double(row0 + i);
          break;
        }
    }
    part->max(first.data(), k);
    for (Index j = 0; j < k; ++j) {
      const Index i = Index(-first(j)) - row0;
      col_sign(j) = i >= 0 && i < rows && U(i, j) < 0 ? -1.0 : 0.0;
    }
    part->sum(col_sign.data(), k);
    for (Index j = 0; j < k; ++j) col_sign(j) = col_sign(j) < 0 ? -1.0 : 1.0;
  }
  for (Index j = 0; j < k; ++j) {
    const Index src = order[static_cast<std::size_t>(j)];
    const double sign = col_sign(src);
    r.U.col(j) = sign * U.col(src);
    r.V.col(j) = sign * V.col(src);
    r.singular_values(j) = (nrm * sv(src)) * a;
  }
  return r;
}

template SvdResult run_auto<float>(const Matrix<double>&, const SvdOptions&, const Partition*);
template SvdResult run_auto<double>(const Matrix<double>&, const SvdOptions&, const Partition*);

}  // namespace tapegrad::svd::detail
