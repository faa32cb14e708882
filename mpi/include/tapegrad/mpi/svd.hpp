// The row-partitioned SVD over MPI processes (library tapegrad::mpi; docs/scale-out.md): solve() on row
// blocks, through the seam of tapegrad/svd/partition.hpp.
//
// Each process holds a contiguous block of rows of M (blocks in rank order, any sizes, e.g.
// tapegrad::svd::row_block) and the same rows of U; s (or the seed recipe's d) and V are replicated.
// The loss is the single-process loss written with the collective ops: the fit's per-process part goes
// through allreduce_sum, UᵀU is allreduce_sum of the local k×k Gram matrices, s and V enter it through
// replicated. A step communicates O(k·n) numbers, never M or U. The auto recipe's L-BFGS sums its dot
// products over processes (Lbfgs::set_reduce) and its stopping test is global. The header needs no <mpi.h>.
#pragma once

#include "tapegrad/mpi/collective.hpp"
#include "tapegrad/svd/solver.hpp"

namespace tapegrad::svd {

/// Collective: every process of `ctx` calls it with the same options and
/// global_rows, and `local` = rows [row_begin, row_begin + local.rows()) of the global_rows × n matrix.
/// Returns on every process the same singular values, V, status, iterations, loss history and (global)
/// errors as one process would get, to rounding, and in U this process's rows of U (gather them with
/// tapegrad::mpi::Context::gather_rows). Throws SvdOptionError, on every process, on bad options or values.
SvdResult solve_distributed(const mpi::Context& ctx, const Matrix<double>& local, Index row_begin,
                            Index global_rows, const SvdOptions& options = {});

}  // namespace tapegrad::svd
