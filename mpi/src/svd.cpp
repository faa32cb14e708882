// solve_distributed: the recipes of solve() on row blocks, through the seam of tapegrad/svd/partition.hpp
// (svd::Collectives) implemented with tapegrad::mpi's context and collective ops.
#include "tapegrad/mpi/svd.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "tapegrad/mpi/collective.hpp"
#include "tapegrad/svd/loss.hpp"
#include "tapegrad/svd/partition.hpp"

namespace tapegrad::svd {

namespace {

// svd::Collectives over an MPI context: the sums and maxima are the context's, and the loss's collective ops
// are mpi::replicated and mpi::allreduce_sum on it (the fit's sum over rows and UᵀU added up over processes,
// d, s and V entering the fit through replicated).
class MpiCollectives final : public Collectives {
 public:
  explicit MpiCollectives(const mpi::Context& ctx) : ctx_(ctx) {}
  int rank() const override { return ctx_.rank(); }
  void sum(double* x, Index n) const override { ctx_.sum(x, n); }
  void sum(float* x, Index n) const override { ctx_.sum(x, n); }
  void max(double* x, Index n) const override { ctx_.max(x, n); }
  Var<float> shared(Var<float> x) const override { return mpi::replicated(ctx_, x); }
  Var<double> shared(Var<double> x) const override { return mpi::replicated(ctx_, x); }
  Var<float> across(Var<float> x) const override { return mpi::allreduce_sum(ctx_, x); }
  Var<double> across(Var<double> x) const override { return mpi::allreduce_sum(ctx_, x); }

 private:
  const mpi::Context& ctx_;
};

}  // namespace

SvdResult solve_distributed(const mpi::Context& ctx, const Matrix<double>& local, Index row_begin,
                            Index global_rows, const SvdOptions& options) {
  // Agree on the shape and the values first, so that every process throws (or none does).
  double check[4] = {double(local.cols()), -double(local.cols()), local.allFinite() ? 0.0 : 1.0,
                     double(local.rows())};
  ctx.max(check, 3);
  ctx.sum(check + 3, 1);
  if (check[0] != -check[1])
    throw SvdOptionError("the processes' row blocks have different numbers of columns");
  if (check[3] != double(global_rows) || row_begin < 0 || row_begin + local.rows() > global_rows)
    throw SvdOptionError("the processes' row blocks do not add up to the " + std::to_string(global_rows) +
                         " rows of the matrix");
  validate_options(global_rows, local.cols(), options);
  if (check[2] != 0) throw SvdOptionError("the matrix holds NaN or infinite values");

  const Dtype dtype =
      options.dtype.value_or(options.recipe == Recipe::Seed ? Dtype::Float32 : Dtype::Float64);
  const MpiCollectives processes(ctx);
  const Partition part{global_rows, row_begin, &processes};
  SvdResult r;
  try {
    r = dtype == Dtype::Float32 ? solve_partitioned<float>(local, options, part)
                                : solve_partitioned<double>(local, options, part);
  } catch (const ShapeError&) {
    throw;
  } catch (const std::invalid_argument& e) {
    throw SvdOptionError(e.what());
  }

  // ‖M − U S Vᵀ‖_F / ‖M‖_F and max(max|UᵀU − I|, max|VᵀV − I|), over all rows.
  const Index k = r.U.cols();
  // On M / max|m_ij| (and S likewise), so that no sum of squares over- or underflows.
  double a = local.size() > 0 ? local.cwiseAbs().maxCoeff() : 0.0;
  ctx.max(&a, 1);
  if (!(a > 0)) a = 1;
  const Matrix<double> ma = local / a;
  const Matrix<double> approx = r.U * (r.singular_values / a).asDiagonal() * r.V.transpose();
  double sums[2] = {(ma - approx).squaredNorm(), ma.squaredNorm()};
  Matrix<double> utu = r.U.transpose() * r.U;
  ctx.sum(sums, 2);
  ctx.sum(utu.data(), utu.size());
  r.reconstruction_error = sums[1] > 0 ? std::sqrt(sums[0] / sums[1]) : std::sqrt(sums[0]);
  const Matrix<double> eye = Matrix<double>::Identity(k, k);
  r.orthogonality_error =
      std::max((utu - eye).cwiseAbs().maxCoeff(), (r.V.transpose() * r.V - eye).cwiseAbs().maxCoeff());
  return r;
}

}  // namespace tapegrad::svd
