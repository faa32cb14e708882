// The seed notebooks' recipe, exactly: U (m×n), d (n), V (n×n), S = diag(d²), the seed loss, a fixed
// number of optimizer steps, then the diagonal sorted descending with U's and V's columns permuted.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <random>

#include "recipes.hpp"
#include "tapegrad/svd/loss.hpp"

namespace tapegrad::svd::detail {

namespace {
// Adam's and AdamW's options from the SVD options; unset ones take the given defaults.
template <class Options>
Options adam_options(const SvdOptions& o, double default_lr, double default_weight_decay) {
  Options a;
  a.lr = o.lr.value_or(default_lr);
  a.beta1 = o.beta1.value_or(a.beta1);
  a.beta2 = o.beta2.value_or(a.beta2);
  a.eps = o.eps.value_or(a.eps);
  a.weight_decay = o.weight_decay.value_or(default_weight_decay);
  a.amsgrad = o.amsgrad;
  return a;
}
}  // namespace

template <class T>
std::unique_ptr<optim::Optimizer<T>> make_optimizer(OptimizerKind kind, const SvdOptions& o,
                                                    std::vector<Parameter<T>*> params, double default_lr,
                                                    double default_momentum, double default_weight_decay) {
  switch (kind) {
    case OptimizerKind::Sgd: {
      optim::SgdOptions s;
      s.lr = o.lr.value_or(default_lr);
      s.momentum = o.momentum.value_or(default_momentum);
      s.dampening = o.dampening.value_or(0.0);
      s.weight_decay = o.weight_decay.value_or(default_weight_decay);
      s.nesterov = o.nesterov;
      return std::make_unique<optim::Sgd<T>>(std::move(params), s);
    }
    case OptimizerKind::Adam:
      return std::make_unique<optim::Adam<T>>(
          std::move(params), adam_options<optim::AdamOptions>(o, default_lr, default_weight_decay));
    case OptimizerKind::AdamW:  // AdamW keeps its own default weight decay (1e-2) unless one is given
      return std::make_unique<optim::AdamW<T>>(
          std::move(params),
          adam_options<optim::AdamWOptions>(o, default_lr, optim::AdamWOptions{}.weight_decay));
  }
  throw SvdOptionError("unknown optimizer");
}

template <class T>
SvdResult run_seed(const Matrix<double>& m, const SvdOptions& o, const Partition* part) {
  // With a partition, m and U are this process's rows [row0, row0 + rows) of global_rows.
  const Index rows = m.rows(), n = m.cols();
  const Index global_rows = part ? part->global_rows : rows, row0 = part ? part->row_begin : 0;
  const OptimizerKind kind = o.optimizer.value_or(OptimizerKind::Sgd);
  const long iterations = o.iterations.value_or(20000);

  // Initial values: the notebooks' (loaded) or uniform in [0, 1) like torch.rand.
  Parameter<T> u, d, v;
  if (o.init) {
    u = Parameter<T>(o.init->U.middleRows(row0, rows).cast<T>(), "U");
    d = Parameter<T>(o.init->diag_sqrt.reshaped(1, n).eval().cast<T>(), "diag_sqrt");
    v = Parameter<T>(o.init->V.cast<T>(), "V");
  } else {
    std::mt19937_64 rng(o.seed);
    std::uniform_real_distribution<double> unif(0.0, 1.0);
    auto rand = [&](Index r, Index c) {
      return Matrix<T>(Matrix<double>::NullaryExpr(r, c, [&] { return unif(rng); }).template cast<T>());
    };
    // U's entries in the order one process draws them (column by column over all rows), keeping this
    // process's rows: every process starts where one process would.
    Matrix<T> u0(rows, n);
    for (Index j = 0; j < n; ++j)
      for (Index i = 0; i < global_rows; ++i) {
        const double x = unif(rng);
        if (i >= row0 && i < row0 + rows) u0(i - row0, j) = T(x);
      }
    u = Parameter<T>(std::move(u0), "U");
    d = Parameter<T>(rand(1, n), "diag_sqrt");
    v = Parameter<T>(rand(n, n), "V");
  }
  // The notebooks' options: 02a SGD(lr 0.9, momentum 0.9); 02b Adam(defaults, weight_decay 1e-5).
  auto opt = kind == OptimizerKind::Sgd ? make_optimizer<T>(kind, o, {&u, &d, &v}, 0.9, 0.9, 0.0)
                                        : make_optimizer<T>(kind, o, {&u, &d, &v}, 1e-3, 0.0, 1e-5);

  SvdResult r;
  r.recipe = Recipe::Seed;
  r.optimizer = kind;
  r.method = to_string(kind);
  r.dtype = std::is_same_v<T, float> ? Dtype::Float32 : Dtype::Float64;
  r.rank = n;
  // Reserved for the fixed count up to 2^22 iterations (32 MB); beyond, it grows as it fills.
  if (o.record_loss) r.loss_history.reserve(static_cast<std::size_t>(std::min(iterations, 1L << 22)) + 1);

  const auto start = std::chrono::steady_clock::now();
  // Record the graph once; every iteration replays it on the updated parameters.
  Tape<T> tape;
  const Matrix<T> mt = m.cast<T>();
  Var<T> loss = seed_loss(tape, u, d, v, mt, part ? part->row_blocks<T>() : RowBlocks<T>{});
  double first = double(loss.value()(0, 0)), best = first;
  r.status = Status::Completed;
  long it = 0;
  for (;; ++it) {
    if (it > 0) tape.forward();
    const double l = double(loss.value()(0, 0));
    if (o.record_loss) r.loss_history.push_back(l);
    r.final_loss = l;
    if (o.progress && (it % o.progress_every == 0 || it == iterations)) o.progress({it, iterations, l});
    if (!std::isfinite(first)) {  // nothing was stepped yet: the starting point, not the learning rate
      r.status = Status::Diverged;
      const bool f32 = std::is_same_v<T, float>;
      r.message = std::string("diverged at the start: the loss at the initial values is ") +
                  (std::isnan(first) ? "NaN" : "infinite") + " in " + (f32 ? "float32" : "float64") + ": " +
                  (o.init ? "the initial values (--init-dir) or the matrix are" : "the matrix is") +
                  " too large for it (the seed recipe does not scale them); " +
                  (f32 ? "use --dtype float64, or --recipe auto, which scales the matrix"
                       : "use --recipe auto, which scales the matrix") +
                  ".";
      break;
    }
    if (diverging(l, best, first)) {
      r.status = Status::Diverged;
      r.message = "diverged at iteration " + std::to_string(it) + ": the loss " +
                  (std::isfinite(l) ? "grew to " + std::to_string(l) : std::string("became non-finite")) +
                  " (it started at " + std::to_string(first) + "). The learning rate " +
                  std::to_string(opt->lr()) + " is too large for this matrix: try a smaller --lr (e.g. " +
                  std::to_string(opt->lr() / 10) +
                  "), --optimizer adam, or --recipe auto, which scales the matrix.";
      break;
    }
    best = std::min(best, l);
    if (it == iterations) break;
    opt->zero_grad();
    tape.backward(loss);
    opt->step();
  }
  r.iterations = it;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  // S = diag(d²), sorted descending, with U's and V's columns permuted to match (signs as they fall).
  const Matrix<double> sv = d.value.template cast<double>().array().square().matrix().reshaped(n, 1);
  std::vector<Index> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), Index(0));
  std::stable_sort(order.begin(), order.end(), [&](Index a, Index b) { return sv(a) > sv(b); });
  r.singular_values.resize(n, 1);
  r.U.resize(rows, n);
  r.V.resize(n, n);
  for (Index j = 0; j < n; ++j) {
    const Index k = order[static_cast<std::size_t>(j)];
    r.singular_values(j) = sv(k);
    r.U.col(j) = u.value.col(k).template cast<double>();
    r.V.col(j) = v.value.col(k).template cast<double>();
  }
  // What the fixed count reached, by the auto recipe's accuracy test (recipes.hpp): converged only if it
  // holds.
  const double a = max_abs(m, part);
  AccuracyMeter<T> meter(rows, n, n, global_rows, part);
  Accuracy acc = meter(m / a, r.U, r.V);
  // The bound is for the Rayleigh quotients; the seed recipe reports d², so add how far those are from them.
  const double rho_max = meter.rho().cwiseAbs().maxCoeff();
  if (rho_max > 0)
    acc.residual += (r.singular_values / a - meter.rho().cwiseAbs()).cwiseAbs().maxCoeff() / rho_max;
  if (!(acc.residual >= 0) || !r.singular_values.allFinite())
    acc.residual = std::numeric_limits<double>::infinity();
  r.error_bound = acc.residual;
  if (r.status == Status::Completed) {
    const bool f32 = std::is_same_v<T, float>;
    const double res_tol = o.tolerance.value_or(residual_bound(f32));
    const double orth_tol = std::max(orthogonality_bound(f32), 2 * res_tol);
    const bool holds = acc.residual <= res_tol && acc.orthogonality <= orth_tol;
    if (holds) r.status = Status::Converged;
    char buf[160];
    std::snprintf(buf, sizeof buf, "error bound %.3g %s %.3g, orthogonality error %.3g %s %.3g", acc.residual,
                  acc.residual <= res_tol ? "<=" : ">", res_tol, acc.orthogonality,
                  acc.orthogonality <= orth_tol ? "<=" : ">", orth_tol);
    r.message = "ran the seed recipe's " + std::to_string(iterations) + " iterations (" + to_string(kind) +
                "): " + (holds ? "converged, " : "not converged, ") + buf +
                (holds ? ""
                       : " (the seed loss's penalties trade accuracy for orthogonality; --recipe auto "
                         "stops on this test)");
  }
  return r;
}

template SvdResult run_seed<float>(const Matrix<double>&, const SvdOptions&, const Partition*);
template SvdResult run_seed<double>(const Matrix<double>&, const SvdOptions&, const Partition*);
template std::unique_ptr<optim::Optimizer<float>> make_optimizer<float>(OptimizerKind, const SvdOptions&,
                                                                        std::vector<Parameter<float>*>,
                                                                        double, double, double);
template std::unique_ptr<optim::Optimizer<double>> make_optimizer<double>(OptimizerKind, const SvdOptions&,
                                                                          std::vector<Parameter<double>*>,
                                                                          double, double, double);

}  // namespace tapegrad::svd::detail
