#include "tapegrad/svd/solver.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "recipes.hpp"
#include "tapegrad/svd/partition.hpp"

namespace tapegrad::svd {

namespace {

// The name of enumerator e: names lists them in the enum's order; "?" for a value outside the enum.
template <class Enum, std::size_t N>
const char* name_of(Enum e, const char* const (&names)[N]) {
  const auto i = static_cast<std::size_t>(e);
  return i < N ? names[i] : "?";
}

}  // namespace

const char* to_string(Recipe r) { return name_of(r, {"seed", "auto"}); }
const char* to_string(OptimizerKind o) { return name_of(o, {"sgd", "adam", "adamw"}); }
const char* to_string(Dtype d) { return name_of(d, {"float32", "float64"}); }
const char* to_string(Status s) {
  return name_of(s, {"converged", "completed, not converged", "not converged", "diverged"});
}

namespace {

// The shortest decimal that reads back as v ("-1", "0.5", "1e+20").
std::string shortest(double v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

}  // namespace

void check_options(const SvdOptions& o, Index rows, Index cols) {
  auto rule = [](const std::optional<double>& x, const char* field, auto ok, const char* what) {
    if (x && !(std::isfinite(*x) && ok(*x)))
      throw SvdOptionError(field, std::string("must be ") + what + ", got " + shortest(*x));
  };
  auto positive = [](double v) { return v > 0; };
  auto non_negative = [](double v) { return v >= 0; };
  auto unit = [](double v) { return v >= 0 && v < 1; };
  rule(o.lr, "lr", positive, "greater than 0");
  rule(o.momentum, "momentum", non_negative, ">= 0");
  rule(o.dampening, "dampening", non_negative, ">= 0");
  rule(o.weight_decay, "weight_decay", non_negative, ">= 0");
  rule(o.eps, "eps", non_negative, ">= 0");
  rule(o.beta1, "beta1", unit, "in [0, 1)");
  rule(o.beta2, "beta2", unit, "in [0, 1)");
  rule(o.tolerance, "tolerance", positive, "greater than 0");
  if (o.iterations && *o.iterations < 1)
    throw SvdOptionError("iterations", "must be at least 1, got " + std::to_string(*o.iterations));
  // The loss history (SvdOptions::record_loss) holds one double per iteration: a bound, not an allocation
  // failure.
  if (o.iterations && *o.iterations > kMaxIterations)
    throw SvdOptionError("iterations",
                         "at most " + std::to_string(kMaxIterations) +
                             " (the limit: the loss history keeps 8 bytes per iteration), got " +
                             std::to_string(*o.iterations));
  if (o.rank && *o.rank < 1)
    throw SvdOptionError("rank", "must be at least 1, got " + std::to_string(*o.rank));
  if (o.nesterov && o.optimizer && *o.optimizer != OptimizerKind::Sgd)
    throw SvdOptionError(
        "nesterov", "Nesterov momentum is an SGD option, not " + std::string(to_string(*o.optimizer)) + "'s");
  if (o.amsgrad && o.optimizer && *o.optimizer == OptimizerKind::Sgd)
    throw SvdOptionError("amsgrad", "AMSGrad is an Adam/AdamW option, not SGD's");
  if (o.init && o.recipe != Recipe::Seed)
    throw SvdOptionError("init", "initial values are for the seed recipe only");
  if (rows <= 0 || cols <= 0) return;

  const Index kmax = std::min(rows, cols);
  if (o.rank && *o.rank > kmax)
    throw SvdOptionError("rank", std::to_string(*o.rank) +
                                     " is more than min(m, n) = " + std::to_string(kmax) + " for the " +
                                     shape_string(rows, cols) + " matrix");
  if (o.memory_limit && working_memory(rows, cols, o) > static_cast<double>(*o.memory_limit)) {
    throw SvdOptionError("memory_limit", "the run needs about " + bytes_text(working_memory(rows, cols, o)) +
                                             " for the " + shape_string(rows, cols) +
                                             " matrix, more than the limit of " +
                                             bytes_text(static_cast<double>(*o.memory_limit)));
  }
  if (o.recipe == Recipe::Seed) {
    if (rows < cols)
      throw SvdOptionError("recipe", "the seed recipe needs m >= n (UᵀU = I cannot hold for a wide " +
                                         shape_string(rows, cols) +
                                         " matrix); the auto recipe takes any shape");
    if (o.rank && *o.rank != cols)
      throw SvdOptionError("rank",
                           "the seed recipe computes all n singular values; a rank is for the auto recipe");
    if (o.init) {
      const auto& i = *o.init;
      if (i.U.rows() != rows || i.U.cols() != cols || i.V.rows() != cols || i.V.cols() != cols ||
          i.diag_sqrt.size() != cols) {
        throw SvdOptionError(
            "init", "the initial values do not fit a " + shape_string(rows, cols) + " matrix: U0 is " +
                        shape_string(i.U.rows(), i.U.cols()) + " (needs " + shape_string(rows, cols) +
                        "), diag_sqrt0 has " + std::to_string(i.diag_sqrt.size()) + " entries (needs " +
                        std::to_string(cols) + "), V0 is " + shape_string(i.V.rows(), i.V.cols()) +
                        " (needs " + shape_string(cols, cols) + ")");
      }
    }
  }
}

std::string bytes_text(double bytes) {
  char buf[32];
  if (bytes < 1024)
    std::snprintf(buf, sizeof buf, "%.0f bytes", bytes);
  else if (bytes < 1048576)
    std::snprintf(buf, sizeof buf, "%.1f KiB", bytes / 1024);
  else if (bytes < 1073741824)
    std::snprintf(buf, sizeof buf, "%.0f MiB", bytes / 1048576);
  else
    std::snprintf(buf, sizeof buf, "%.1f GiB", bytes / 1073741824);
  return buf;
}

double working_memory(Index rows, Index cols, const SvdOptions& o) {
  const bool seed = o.recipe == Recipe::Seed;
  const double scalar = o.dtype.value_or(seed ? Dtype::Float32 : Dtype::Float64) == Dtype::Float32 ? 4 : 8;
  const double m = static_cast<double>(rows), n = static_cast<double>(cols);
  const double k = static_cast<double>(o.rank.value_or(std::min(rows, cols)));
  // Entries, above the peaks measured with /usr/bin/time (2026-12-03; 2000x500, 3x400000, 1x2000000,
  // 1x50000000 float64: 27-38 vectors; seed 2000x500 float32: ~21 m×n): the seed graph keeps the values and
  // gradients of its m×n nodes; the auto recipe a scaled copy of M and vectors of (m + n)·k entries (the
  // trust region's and the HVP tape's, or L-BFGS's history and the penalty loss's products).
  const double entries = seed ? 24 * m * n + 8 * (m + n) * k : m * n + 40 * (m + n) * k;
  return entries * scalar;
}

void validate_options(Index rows, Index cols, const SvdOptions& o) {
  if (rows == 0 || cols == 0) {
    throw SvdOptionError("the matrix is empty (" + shape_string(rows, cols) +
                         "): there is nothing to decompose");
  }
  check_options(o, rows, cols);
}

RowBlock row_block(Index rows, int rank, int size) {
  if (size < 1 || rank < 0 || rank >= size || rows < 0)
    throw std::invalid_argument("tapegrad::svd::row_block: bad rank " + std::to_string(rank) + " of " +
                                std::to_string(size));
  const Index base = rows / size, extra = rows % size;
  return {rank * base + std::min<Index>(rank, extra), base + (rank < extra ? 1 : 0)};
}

template <class T>
SvdResult solve_partitioned(const Matrix<double>& m, const SvdOptions& options, const Partition& part) {
  if (!part.processes)
    throw std::invalid_argument(
        "svd::solve_partitioned: the partition has no processes (Partition::processes)");
  return options.recipe == Recipe::Seed ? detail::run_seed<T>(m, options, &part)
                                        : detail::run_auto<T>(m, options, &part);
}
template SvdResult solve_partitioned<float>(const Matrix<double>&, const SvdOptions&, const Partition&);
template SvdResult solve_partitioned<double>(const Matrix<double>&, const SvdOptions&, const Partition&);

namespace {

void validate(const Matrix<double>& m, const SvdOptions& o) {
  validate_options(m.rows(), m.cols(), o);
  if (!m.allFinite()) throw SvdOptionError("the matrix holds NaN or infinite values");
}

// ‖M − U S Vᵀ‖_F / ‖M‖_F and max(max|UᵀU − I|, max|VᵀV − I|), in double.
// Both on M / max|m_ij| (and S likewise), so that no norm over- or underflows at any finite scale.
void measure(const Matrix<double>& m, SvdResult& r) {
  const Index k = r.U.cols();
  const double a = detail::max_abs(m, nullptr);
  // Over blocks of rows: no m×n temporary (a top-k run's memory stays O((m + n)·k) beyond M).
  const Matrix<double> us = r.U * (r.singular_values / a).asDiagonal();
  constexpr Index kBlock = 256;
  double residual2 = 0, approx2 = 0;
  Matrix<double> block;
  for (Index i = 0; i < m.rows(); i += kBlock) {
    const Index b = std::min(kBlock, m.rows() - i);
    block.noalias() = us.middleRows(i, b) * r.V.transpose();
    approx2 += block.squaredNorm();
    residual2 += (m.middleRows(i, b) / a - block).squaredNorm();
  }
  const double mn = (m / a).norm();
  r.reconstruction_error = mn > 0 ? std::sqrt(residual2) / mn : std::sqrt(approx2);
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
