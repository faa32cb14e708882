#include "tapegrad/svd/solver.hpp"

#include <cmath>

#include "recipes.hpp"

namespace tapegrad::svd {

const char* to_string(Recipe r) { return r == Recipe::Seed ? "seed" : "auto"; }
const char* to_string(OptimizerKind o) {
  switch (o) {
    case OptimizerKind::Sgd:
      return "sgd";
    case OptimizerKind::Adam:
      return "adam";
    case OptimizerKind::AdamW:
      return "adamw";
  }
  return "?";
}
const char* to_string(Dtype d) { return d == Dtype::Float32 ? "float32" : "float64"; }
const char* to_string(Status s) {
  switch (s) {
    case Status::Converged:
      return "converged";
    case Status::Completed:
      return "completed, not converged";
    case Status::NotConverged:
      return "not converged";
    case Status::Diverged:
      return "diverged";
  }
  return "?";
}

namespace detail {

void validate(Index rows, Index cols, const SvdOptions& o) {
  if (rows == 0 || cols == 0) {
    throw SvdOptionError("the matrix is empty (" + shape_string(rows, cols) +
                         "): there is nothing to decompose");
  }
  auto positive = [](const std::optional<double>& x, const char* name) {
    if (x && !(*x >= 0 && std::isfinite(*x))) {
      throw SvdOptionError(std::string(name) + " must be a finite number >= 0, got " + std::to_string(*x));
    }
  };
  positive(o.lr, "--lr");
  positive(o.momentum, "--momentum");
  positive(o.dampening, "--dampening");
  positive(o.weight_decay, "--weight-decay");
  positive(o.eps, "--eps");
  for (auto [b, name] : {std::pair{o.beta1, "--beta1"}, std::pair{o.beta2, "--beta2"}}) {
    if (b && !(*b >= 0 && *b < 1))
      throw SvdOptionError(std::string(name) + " must be in [0, 1), got " + std::to_string(*b));
  }
  if (o.iterations && *o.iterations < 0) throw SvdOptionError("--iters must be >= 0");
  if (o.tolerance && !(*o.tolerance > 0)) throw SvdOptionError("--tol must be > 0");
  const Index kmax = std::min(rows, cols);
  if (o.rank && (*o.rank < 1 || *o.rank > kmax)) {
    throw SvdOptionError("--rank must be between 1 and min(m, n) = " + std::to_string(kmax) + " for a " +
                         shape_string(rows, cols) + " matrix, got " + std::to_string(*o.rank));
  }
  if (o.recipe == Recipe::Seed) {
    if (rows < cols) {
      throw SvdOptionError("the seed recipe needs m >= n (UᵀU = I cannot hold for a wide " +
                           shape_string(rows, cols) + " matrix): use --recipe auto");
    }
    if (o.rank && *o.rank != cols)
      throw SvdOptionError("the seed recipe computes all n singular values: use --recipe auto for --rank");
    if (o.init) {
      const auto& i = *o.init;
      if (i.U.rows() != rows || i.U.cols() != cols || i.V.rows() != cols || i.V.cols() != cols ||
          i.diag_sqrt.size() != cols) {
        throw SvdOptionError("the initial values do not fit a " + shape_string(rows, cols) +
                             " matrix: U0 is " + shape_string(i.U.rows(), i.U.cols()) + " (needs " +
                             shape_string(rows, cols) + "), diag_sqrt0 has " +
                             std::to_string(i.diag_sqrt.size()) + " entries (needs " + std::to_string(cols) +
                             "), V0 is " + shape_string(i.V.rows(), i.V.cols()) + " (needs " +
                             shape_string(cols, cols) + ")");
      }
    }
  } else if (o.init) {
    throw SvdOptionError("initial values (--init-dir) are for the seed recipe only");
  }
  if (o.nesterov && o.optimizer && *o.optimizer != OptimizerKind::Sgd)
    throw SvdOptionError("--nesterov is an SGD option");
  if (o.amsgrad && o.optimizer && *o.optimizer == OptimizerKind::Sgd)
    throw SvdOptionError("--amsgrad is an Adam/AdamW option");
}

}  // namespace detail

namespace {

void validate(const Matrix<double>& m, const SvdOptions& o) {
  detail::validate(m.rows(), m.cols(), o);
  if (!m.allFinite()) throw SvdOptionError("the matrix holds NaN or infinite values");
}

// ‖M − U S Vᵀ‖_F / ‖M‖_F and max(max|UᵀU − I|, max|VᵀV − I|), in double.
// Both on M / max|m_ij| (and S likewise), so that no norm over- or underflows at any finite scale.
void measure(const Matrix<double>& m, SvdResult& r) {
  const Index k = r.U.cols();
  const double a = detail::max_abs<double>(m, nullptr);
  const Matrix<double> ma = m / a;
  const Matrix<double> approx = r.U * (r.singular_values / a).asDiagonal() * r.V.transpose();
  const double mn = ma.norm();
  r.reconstruction_error = mn > 0 ? (ma - approx).norm() / mn : approx.norm();
  const Matrix<double> eye = Matrix<double>::Identity(k, k);
  r.orthogonality_error = std::max((r.U.transpose() * r.U - eye).cwiseAbs().maxCoeff(),
                                   (r.V.transpose() * r.V - eye).cwiseAbs().maxCoeff());
}

}  // namespace

SvdResult solve(const Matrix<double>& m, const SvdOptions& options) {
  validate(m, options);
  const bool seed = options.recipe == Recipe::Seed;
  const Dtype dtype = options.dtype.value_or(seed ? Dtype::Float32 : Dtype::Float64);
  SvdResult r;
  try {
    if (seed) {
      r = dtype == Dtype::Float32 ? detail::run_seed<float>(m, options)
                                  : detail::run_seed<double>(m, options);
    } else {
      r = dtype == Dtype::Float32 ? detail::run_auto<float>(m, options)
                                  : detail::run_auto<double>(m, options);
    }
  } catch (const ShapeError&) {
    throw;                                    // a bug in the recipe, not a bad option
  } catch (const std::invalid_argument& e) {  // the optimizers' own option checks
    throw SvdOptionError(e.what());
  }
  measure(m, r);
  return r;
}

}  // namespace tapegrad::svd
