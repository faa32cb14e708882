// The row-partitioned SVD: solve_distributed over P processes, each holding an uneven block of
// rows, gives the singular values, V and (gathered) U of one process's solve(), to rounding. Run by CTest
// through mpirun with 1, 2 and 3 processes.
#include <vector>

#include "mpi_check.hpp"
#include "tapegrad/io/files.hpp"
#include "tapegrad/mpi/collective.hpp"
#include "tapegrad/mpi/svd.hpp"
#include "tapegrad/svd/partition.hpp"

using namespace tapegrad;
using namespace tapegrad::svd;

namespace {

const std::string kData = TAPEGRAD_TEST_DATA_DIR;

// Blocks of very different sizes: process p gets weight p + 1 (1 : 2 : 3 for three processes).
svd::RowBlock skewed_block(Index rows, int rank, int size) {
  const Index total_w = Index(size) * (size + 1) / 2;
  Index begin = 0;
  for (int p = 0; p < rank; ++p) begin += rows * (p + 1) / total_w;
  const Index count = rank == size - 1 ? rows - begin : rows * (rank + 1) / total_w;
  return {begin, count};
}

void compare(const mpi::Context& ctx, const std::string& name, const Matrix<double>& m, const SvdOptions& o,
             svd::RowBlock blk, double tol) {
  const SvdResult one = solve(m, o);  // every process computes the reference itself
  const SvdResult dist = solve_distributed(ctx, m.middleRows(blk.begin, blk.count), blk.begin, m.rows(), o);
  const Matrix<double> U = ctx.gather_rows(dist.U);
  double e_s = 0, e_v = 0, e_u = 0, e_usv = 0;
  MPI_CHECK(dist.status == one.status);
  MPI_CHECK(mpitest::close(dist.singular_values, one.singular_values, tol, &e_s));
  // Singular vectors are unique (up to the normalised sign) only for isolated nonzero singular values
  // (rank_deficient_7x5 has σ₄ = σ₅ = 0): compare those columns, and U S Vᵀ for all.
  const auto& sv = one.singular_values;
  std::vector<Index> unique;
  for (Index j = 0; j < sv.size(); ++j) {
    const double gap =
        std::min(j > 0 ? sv(j - 1) - sv(j) : 1e300, j + 1 < sv.size() ? sv(j) - sv(j + 1) : 1e300);
    if (sv(j) > 1e-6 * sv(0) && gap > 1e-6 * sv(0)) unique.push_back(j);
  }
  MPI_CHECK(mpitest::close(dist.V(Eigen::all, unique), one.V(Eigen::all, unique), 1e3 * tol, &e_v));
  if (ctx.rank() == 0) {
    MPI_CHECK(mpitest::close(U(Eigen::all, unique), one.U(Eigen::all, unique), 1e3 * tol, &e_u));
    const Matrix<double> a = U * dist.singular_values.asDiagonal() * dist.V.transpose();
    MPI_CHECK(
        mpitest::close(a, Matrix<double>(one.U * sv.asDiagonal() * one.V.transpose()), 1e2 * tol, &e_usv));
  }
  MPI_CHECK(std::abs(dist.reconstruction_error - one.reconstruction_error) <= std::max(1e-8, 10 * tol));
  MPI_CHECK(std::abs(dist.orthogonality_error - one.orthogonality_error) <= std::max(1e-8, 10 * tol));
  // The replicated values are the same on every process, to the bit.
  Matrix<double> hi = dist.singular_values, lo = -dist.singular_values;
  ctx.max(hi.data(), hi.size());
  ctx.max(lo.data(), lo.size());
  MPI_CHECK((hi + lo).cwiseAbs().maxCoeff() == 0);
  if (ctx.rank() == 0)
    std::printf(
        "  %-28s rows %ld..%ld on rank 0, %ld vs %ld iterations, max rel. diff: s %.2e, V %.2e, U %.2e, USVᵀ "
        "%.2e\n",
        name.c_str(), long(blk.begin), long(blk.begin + blk.count), dist.iterations, one.iterations, e_s, e_v,
        e_u, e_usv);
}

}  // namespace

int main(int argc, char** argv) {
  mpi::Context ctx(&argc, &argv);
  mpitest::start(ctx);
  const int r = ctx.rank(), p = ctx.size();
  SvdOptions automatic;
  automatic.record_loss = false;

  for (const char* name : {"tall_8x5", "wide_4x9", "rank_deficient_7x5", "close_sv_6x4", "scaled_up_6x4"}) {
    const Matrix<double> m = io::read_matrix(kData + "/svd/" + name + "/M.csv");
    compare(ctx, std::string("auto ") + name, m, automatic, svd::row_block(m.rows(), r, p), 1e-9);
  }
  const Matrix<double> m3 = io::read_matrix(kData + "/seed/svd/M3/M.csv");  // 7x4
  compare(ctx, "auto M3, skewed blocks", m3, automatic, skewed_block(m3.rows(), r, p), 1e-9);
  SvdOptions top2 = automatic;
  top2.rank = 2;
  compare(ctx, "auto M3 --rank 2", m3, top2, svd::row_block(m3.rows(), r, p), 1e-9);
  SvdOptions f32 = automatic;
  f32.dtype = Dtype::Float32;
  compare(ctx, "auto M3 float32", m3, f32, svd::row_block(m3.rows(), r, p), 1e-4);

  SvdOptions seed;
  seed.recipe = Recipe::Seed;
  seed.dtype = Dtype::Float64;
  seed.iterations = 3000;
  seed.record_loss = false;
  compare(ctx, "seed M3 float64, 3000 its", m3, seed, skewed_block(m3.rows(), r, p), 1e-9);
  seed.optimizer = OptimizerKind::Adam;
  seed.lr = 0.01;
  compare(ctx, "seed M3 adam", m3, seed, svd::row_block(m3.rows(), r, p), 1e-9);

  // Bad input throws on every process (no process is left waiting in a collective).
  bool threw = false;
  try {
    SvdOptions bad;
    bad.rank = 9;
    const auto blk = svd::row_block(m3.rows(), r, p);
    solve_distributed(ctx, m3.middleRows(blk.begin, blk.count), blk.begin, m3.rows(), bad);
  } catch (const SvdOptionError&) {
    threw = true;
  }
  MPI_CHECK(threw);
  return mpitest::finish(ctx, "test_svd_distributed");
}
