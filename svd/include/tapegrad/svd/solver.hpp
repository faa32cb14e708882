// The SVD of a matrix by gradient descent: M ≈ U diag(s) Vᵀ, found by minimising a loss built from
// autodiff ops with the optimizers of tapegrad::optim. No LAPACK or Eigen SVD inside.
//
// Two recipes:
//  - Recipe::Seed, the blog series' notebooks exactly: U (m×n), diag_sqrt d (n), V (n×n), S = diag(d²),
//    loss mse(U S Vᵀ, M) + mse(UᵀU, I)/100 + mse(V Vᵀ, I)/100, fixed iteration count, float32 by default.
//  - Recipe::Auto (the default), what a user expects of an SVD: any shape, top-k, scale invariant, stops
//    on a tolerance, sorted and sign-normalised output, float64 by default. See docs/svd-auto.md.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "tapegrad/autodiff/matrix.hpp"

/// The SVD by gradient descent (the seed and auto recipes), its losses and its convergence plot (the matrix
/// file readers and writers are tapegrad::io).
namespace tapegrad::svd {

/// The seed notebooks' fixed recipe, or the auto recipe (docs/svd-auto.md).
enum class Recipe { Seed, Auto };
/// The optimizer a run uses.
enum class OptimizerKind { Sgd, Adam, AdamW };
/// The scalar type a run computes in.
enum class Dtype { Float32, Float64 };

/// How a run ended.
enum class Status {
  Converged,     ///< the accuracy test holds (SvdResult::error_bound, orthogonality_error; docs/svd-auto.md)
  Completed,     ///< seed: the fixed iteration count was run, but the accuracy test does not hold
  NotConverged,  ///< auto: the iteration limit came first (results are still the best found)
  Diverged,      ///< the loss became non-finite or grew far above its best; see SvdResult::message
};

/// The seed recipe's starting point (the notebooks' U0, diag_sqrt0, V0), instead of random values.
struct SeedInit {
  Matrix<double> U;          ///< m×n
  Matrix<double> diag_sqrt;  ///< 1×n or n×1
  Matrix<double> V;          ///< n×n
};

/// What the solver reports while it runs (called every `progress_every` iterations).
struct Progress {
  long iteration = 0;       ///< iterations done
  long max_iterations = 0;  ///< the limit
  double loss = 0;          ///< the current loss
};

/// The most iterations a run may ask for (SvdOptions::iterations): the loss history keeps 8 bytes per
/// iteration.
inline constexpr long kMaxIterations = 1'000'000'000;

/// What solve() computes and how; unset options take the recipe's defaults. check_options() states the rules.
struct SvdOptions {
  Recipe recipe = Recipe::Auto;  ///< the recipe
  /// Unset: seed uses SGD (lr 0.9, momentum 0.9); auto chooses its own method (L-BFGS on the penalty loss
  /// for a full SVD; for the top k of a larger matrix on one process, a Riemannian trust region on the
  /// Brockett cost unless `lr` is set: docs/svd-auto.md). SvdResult::method names what ran.
  std::optional<OptimizerKind> optimizer;
  // Optimizer options; unset ones take the recipe's defaults (seed: the notebooks' values).
  std::optional<double> lr;            ///< learning rate
  std::optional<double> momentum;      ///< SGD momentum
  std::optional<double> dampening;     ///< SGD dampening
  std::optional<double> weight_decay;  ///< weight decay
  std::optional<double> beta1;         ///< Adam's first-moment decay
  std::optional<double> beta2;         ///< Adam's second-moment decay
  std::optional<double> eps;           ///< Adam's epsilon
  bool nesterov = false;               ///< SGD with Nesterov momentum
  bool amsgrad = false;                ///< Adam's AMSGrad variant
  /// Seed: the iteration count (default 20000). Auto: the maximum (default: see docs/svd-auto.md).
  std::optional<long> iterations;
  /// The bound on SvdResult::error_bound for `converged` (unset: 5e-11 in float64, 5e-6 in float32).
  std::optional<double> tolerance;
  /// Number of singular triplets; unset: min(m, n). The seed recipe needs m >= n and rank n.
  std::optional<Index> rank;
  /// Unset: seed float32, auto float64.
  std::optional<Dtype> dtype;
  /// Random initialisation seed (deterministic for a given value).
  std::uint64_t seed = 314;
  /// Seed recipe only: start from these values instead of random ones.
  std::optional<SeedInit> init;
  /// Keep the loss at every iteration in SvdResult::loss_history.
  bool record_loss = true;
  /// The most memory, in bytes, the run may need beyond the matrix (working_memory()): a run that would
  /// need more is refused before it allocates (SvdOptionError naming memory_limit), instead of failing
  /// part-way or being killed by the system. Unset: not checked.
  std::optional<std::uint64_t> memory_limit;
  std::function<void(const Progress&)> progress;  ///< called while the solver runs (if set)
  long progress_every = 1000;                     ///< iterations between progress calls
};

/// What solve() found, and how it ran.
struct SvdResult {
  Matrix<double> U;                      ///< m×k, columns sorted with the singular values
  Matrix<double> singular_values;        ///< k×1, descending
  Matrix<double> V;                      ///< n×k
  Status status = Status::NotConverged;  ///< how the run ended
  long iterations = 0;                   ///< iterations run
  double final_loss = 0;                 ///< the loss at the end
  double seconds = 0;                    ///< the solver's own time
  std::vector<double> loss_history;      ///< loss at iterations 0, 1, ... (when record_loss)
  double reconstruction_error = 0;       ///< ‖M − U S Vᵀ‖_F / ‖M‖_F
  double orthogonality_error = 0;        ///< max(max|UᵀU − I|, max|VᵀV − I|)
  /// A bound on max_j |σ_j(computed) − σ_j(exact)| / σ_max, from the triplets' residuals ‖M v − σ u‖,
  /// ‖Mᵀ u − σ v‖ and the gaps between them (svd/src/recipes.hpp). Converged means error_bound <= 5e-11 and
  /// orthogonality_error <= 1e-10 in float64 (5e-6 and 1e-5 in float32), unless --tol sets the first bound.
  double error_bound = 0;
  std::string message;           ///< human-readable: why it stopped, and what to try if it failed
  Recipe recipe = Recipe::Auto;  ///< the recipe that ran
  OptimizerKind optimizer = OptimizerKind::Sgd;  ///< the optimizer that ran
  std::string method;            ///< "sgd", "adam", "adamw", or the auto recipe's "lbfgs" or "trust-region"
  Dtype dtype = Dtype::Float64;  ///< the scalar type it computed in
  Index rank = 0;                ///< the number of triplets
  /// The measured accuracy test held (error_bound and orthogonality_error within their bounds), for either
  /// recipe.
  bool converged() const { return status == Status::Converged; }
};

/// Bad options or a matrix the recipe cannot take. field() names the SvdOptions member at fault ("lr",
/// "rank", "init", ...; empty when it is the matrix), detail() says why; what() is "field: detail".
class SvdOptionError : public std::invalid_argument {
 public:
  /// An error about the matrix, not an option.
  explicit SvdOptionError(const std::string& detail) : SvdOptionError("", detail) {}
  /// An error about the option `field` (an SvdOptions member's name).
  SvdOptionError(std::string field, const std::string& detail)
      : std::invalid_argument(field.empty() ? detail : field + ": " + detail),
        field_(std::move(field)),
        detail_(detail) {}
  /// The SvdOptions member at fault, or empty.
  const std::string& field() const { return field_; }
  /// Why, without the field's name.
  const std::string& detail() const { return detail_; }

 private:
  std::string field_, detail_;
};

/// Checks the options that do not depend on the matrix (the rules solve() applies first): throws
/// SvdOptionError naming the field. With the matrix's shape (rows, cols > 0), also the rank and the initial
/// values against it.
void check_options(const SvdOptions& o, Index rows = 0, Index cols = 0);

/// An upper estimate of the bytes solve() allocates for a rows×cols matrix with these options, beyond the
/// matrix itself: the scaled copy of the matrix, the loss graph's buffers and the optimizer's state
/// (docs/bad-inputs.md, "Memory"). What check_options() compares with SvdOptions::memory_limit.
double working_memory(Index rows, Index cols, const SvdOptions& o);

/// A byte count for messages: "800 bytes", "12.5 KiB", "626 MiB", "15.3 GiB".
std::string bytes_text(double bytes);

/// Computes the SVD of m by gradient descent. Throws SvdOptionError on bad options.
SvdResult solve(const Matrix<double>& m, const SvdOptions& options = {});

/// "seed" or "auto".
const char* to_string(Recipe r);
/// "sgd", "adam" or "adamw".
const char* to_string(OptimizerKind o);
/// "float32" or "float64".
const char* to_string(Dtype d);
/// The status's name.
const char* to_string(Status s);

}  // namespace tapegrad::svd
