// Helpers for the ops' cost functions (OpDef::cost, read by the profiler). The convention
// (docs/profiling.md): FLOPs: one per arithmetic operation, comparison or elementary function (exp, log,
// tanh, sigmoid, pow, sqrt) per entry, as the derivative comment writes it; a multiply-add is 2, a GEMM
// m·n·k·2, a reduction of N entries N, an accumulation `dA += X` one add per entry of X. Elements: each
// matrix the kernel reads counts its entries once, each matrix it writes once more, a gradient it accumulates
// into (read and written) twice: the traffic of an ideal cache, a lower bound. Backward counts only the
// inputs that receive a gradient.
#pragma once

#include "tapegrad/autodiff/tape.hpp"

namespace tapegrad::detail {

inline double out_size(const OpShapes& s) {
  return static_cast<double>(s.rows) * static_cast<double>(s.cols);
}
inline double in_size(const OpShapes& s, int k) {
  return static_cast<double>(s.in_rows[k]) * static_cast<double>(s.in_cols[k]);
}

/// An elementwise op of one input, n entries: forward F FLOPs per entry (reads A, writes C); backward
/// dA += ... with B FLOPs per entry, reading dC and `Reads` more n-entry matrices (A or C), dA read and
/// written.
template <int F, int B, int Reads>
OpCost unary_cost(const OpShapes& s, bool backward) {
  const double n = out_size(s);
  if (!backward) return {F * n, 2 * n};
  if (!s.needs_grad[0]) return {};
  return {B * n, (3 + Reads) * n};
}

/// A reduction of A (a entries) to n outputs: a adds, plus one division per output if Divides (a mean);
/// backward dA += dc (/ N): the same FLOPs, reading dc and dA, writing dA.
template <int Divides>
OpCost reduction_cost(const OpShapes& s, bool backward) {
  const double a = in_size(s, 0), n = out_size(s);
  if (!backward) return {a + Divides * n, a + n};
  return {a + Divides * n, 2 * a + n};
}

/// logsumexp of a entries into n outputs (rows, columns or all): 4a + 2n (max, -, exp, + per entry; log, +
/// per output); backward 4a (-, exp, ∘, += per entry) reading A, c and dc.
inline OpCost logsumexp_cost(const OpShapes& s, bool backward) {
  const double a = in_size(s, 0), n = out_size(s);
  return backward ? OpCost{4 * a, 3 * a + 2 * n} : OpCost{4 * a + 2 * n, a + n};
}

}  // namespace tapegrad::detail
