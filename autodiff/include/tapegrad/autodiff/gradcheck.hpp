// Checking a tape's gradients and Hessian-vector products against central finite differences, in double.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tapegrad/autodiff/tape.hpp"

namespace tapegrad {

/// A user's function: records a graph on `tape` from the given input nodes and returns its output
/// (any shape; a non-scalar output is checked through a fixed random projection ⟨output, R⟩).
using GradCheckFunction =
    std::function<Var<double>(Tape<double>& tape, const std::vector<Var<double>>& inputs)>;

/// How check_gradients compares.
struct GradCheckOptions {
  double step = 1e-6;         ///< finite-difference step h: (f(x + h) - f(x - h)) / 2h
  double rtol = 1e-6;         ///< an element passes if |analytic - numeric| <= atol + rtol * |numeric|
  double atol = 1e-8;         ///< absolute tolerance (see rtol)
  std::uint64_t seed = 1234;  ///< RNG seed: of the random projection of a non-scalar output, check_hvp's v
};

/// What check_gradients found.
struct GradCheckResult {
  bool ok = true;           ///< every entry within tolerance
  double max_error = 0;     ///< the worst |analytic - numeric| / (atol + rtol |numeric|); ok means <= 1
  std::size_t input = 0;    ///< where the worst element is: which input,
  Index row = 0;            ///< and which entry of it (row,
  Index col = 0;            ///< column),
  double analytic = 0;      ///< with the tape's derivative there
  double numeric = 0;       ///< and the finite-difference one.
  std::size_t checked = 0;  ///< number of entries compared
  /// "worst: input 1 (2, 0): analytic 0.5 vs numeric 0.49 (error 3.2x tolerance)"
  std::string report() const;
};

/// Compares the tape's gradient of f at `inputs` with central finite differences, entry by entry.
GradCheckResult check_gradients(const GradCheckFunction& f, const std::vector<Matrix<double>>& inputs,
                                const GradCheckOptions& options = {});

/// Compares the tape's Hessian-vector product (HvpTape, docs/second-order.md) of f's scalar (1x1) output at
/// `inputs` in the direction v (one matrix per input; empty: a random direction from the RNG seed
/// options.seed) with central differences of the tape's gradient, (∇f(x + h v) - ∇f(x - h v)) / 2h, entry by
/// entry. In the result, `analytic` is the entry of H v and `numeric` the difference quotient.
GradCheckResult check_hvp(const GradCheckFunction& f, const std::vector<Matrix<double>>& inputs,
                          const std::vector<Matrix<double>>& v = {}, const GradCheckOptions& options = {});

}  // namespace tapegrad
