// Time and communication per iteration of the row-partitioned SVD (auto recipe, L-BFGS), for
// bench/RESULTS-mpi.md:
//
//   mpirun -np P --oversubscribe bench_mpi_svd_step [ROWS COLS RANK ITERS]
//
// Every process makes its block of a random ROWS×COLS matrix (uniform [−1, 1), the same matrix for every
// P), runs ITERS iterations (no convergence test: the tolerance is 0), and process 0 prints the wall time
// per iteration and this process's collective calls and payload bytes per iteration.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "tapegrad/mpi/collective.hpp"
#include "tapegrad/mpi/svd.hpp"
#include "tapegrad/svd/partition.hpp"

using namespace tapegrad;

int main(int argc, char** argv) {
  mpi::Context ctx(&argc, &argv);
  const Index m = argc > 1 ? std::atol(argv[1]) : 20000, n = argc > 2 ? std::atol(argv[2]) : 100;
  const Index k = argc > 3 ? std::atol(argv[3]) : 10;
  const long iters = argc > 4 ? std::atol(argv[4]) : 40;
  const auto blk = svd::row_block(m, ctx.rank(), ctx.size());
  Matrix<double> local(blk.count, n);
  for (Index i = 0; i < blk.count; ++i) {  // row i's entries depend only on its global index
    std::mt19937_64 rng(std::uint64_t(blk.begin + i));
    std::uniform_real_distribution<double> u(-1, 1);
    for (Index j = 0; j < n; ++j) local(i, j) = u(rng);
  }
  svd::SvdOptions o;
  o.rank = k;
  o.iterations = iters;
  o.tolerance = 1e-300;
  o.record_loss = false;
  ctx.barrier();
  ctx.reset_traffic();
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = svd::solve_distributed(ctx, local, blk.begin, m, o);
  ctx.barrier();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto tr = ctx.traffic();
  if (ctx.rank() == 0)
    std::printf(
        "P=%d m=%ld n=%ld k=%ld: %ld iterations, %.3f ms/iteration, %.1f collective calls and %.0f "
        "payload bytes per iteration (per process), sigma_1 %.6f\n",
        ctx.size(), long(m), long(n), long(k), r.iterations, 1e3 * s / double(r.iterations),
        double(tr.calls) / double(r.iterations), double(tr.bytes) / double(r.iterations),
        r.singular_values(0));
  return 0;
}
