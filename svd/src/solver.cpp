#include "tapegrad/svd/solver.hpp"

namespace tapegrad::svd {

const char* to_string(Recipe r) { return r == Recipe::Seed ? "seed" : "auto"; }
const char* to_string(OptimizerKind o) {
  switch (o) {
    case OptimizerKind::Sgd: return "sgd";
    case OptimizerKind::Adam: return "adam";
    case OptimizerKind::AdamW: return "adamw";
  }
  return "?";
}
const char* to_string(Dtype d) { return d == Dtype::Float32 ? "float32" : "float64"; }
const char* to_string(Status s) {
  switch (s) {
    case Status::Converged: return "converged";
    case Status::Completed: return "completed";
    case Status::NotConverged: return "not converged";
    case Status::Diverged: return "diverged";
  }
  return "?";
}

SvdResult solve(const Matrix<double>&, const SvdOptions&) {
  throw SvdOptionError("tapegrad::svd::solve: not implemented yet (work in progress)");
}

}  // namespace tapegrad::svd
