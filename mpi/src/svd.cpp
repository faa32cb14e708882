// solve_distributed: the recipes of solve() on row blocks, through the hooks of svd::Partition
// (tapegrad/svd/partition.hpp) filled with tapegrad::mpi's collectives.
#include "tapegrad/mpi/svd.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "tapegrad/mpi/collective.hpp"
#include "tapegrad/svd/loss.hpp"
#include "tapegrad/svd/partition.hpp"

namespace tapegrad::svd {

namespace {

// The recipes' losses on this process's rows: svd::seed_loss and svd::auto_recipe_loss, with the fit's sum
// over rows and UᵀU added up over processes (allreduce_sum) and d, s, V entering the fit through replicated.
template <class T>
RowBlocks<T> row_blocks(Index global_rows) {
  return {global_rows, &mpi::replicated<T>, &mpi::allreduce_sum<T>};
}

template <class T>
Partition<T> partition(Index row_begin, Index global_rows, bool seed) {
  Partition<T> p;
  p.global_rows = global_rows;
  p.row_begin = row_begin;
  p.root = mpi::Context::current().rank() == 0;
  p.sum_d = [](double* x, Index n) { mpi::sum(x, n); };
  p.max_d = [](double* x, Index n) { mpi::max(x, n); };
  p.sum = [](T* x, Index n) { mpi::sum(x, n); };
  if (seed) {
    p.loss = [global_rows](Tape<T>& t, Parameter<T>& u, Parameter<T>& d, Parameter<T>& v, const Matrix<T>& m,
                           T) { return seed_loss(t, u, d, v, m, row_blocks<T>(global_rows)); };
  } else {
    p.loss = [global_rows](Tape<T>& t, Parameter<T>& u, Parameter<T>& s, Parameter<T>& v, const Matrix<T>& m,
                           T mu) { return auto_recipe_loss(t, u, s, v, m, mu, row_blocks<T>(global_rows)); };
  }
  return p;
}

template <class T>
SvdResult run(const Matrix<double>& local, Index row_begin, Index global_rows, const SvdOptions& o,
              bool seed) {
  const auto p = partition<T>(row_begin, global_rows, seed);
  return solve_partitioned<T>(local, o, p);
}

}  // namespace

SvdResult solve_distributed(const Matrix<double>& local, Index row_begin, Index global_rows,
                            const SvdOptions& options) {
  // Agree on the shape and the values first, so that every process throws (or none does).
  double check[4] = {double(local.cols()), -double(local.cols()), local.allFinite() ? 0.0 : 1.0,
                     double(local.rows())};
  mpi::max(check, 3);
  mpi::sum(check + 3, 1);
  if (check[0] != -check[1])
    throw SvdOptionError("the processes' row blocks have different numbers of columns");
  if (check[3] != double(global_rows) || row_begin < 0 || row_begin + local.rows() > global_rows)
    throw SvdOptionError("the processes' row blocks do not add up to the " + std::to_string(global_rows) +
                         " rows of the matrix");
  validate_options(global_rows, local.cols(), options);
  if (check[2] != 0) throw SvdOptionError("the matrix holds NaN or infinite values");

  const bool seed = options.recipe == Recipe::Seed;
  const Dtype dtype = options.dtype.value_or(seed ? Dtype::Float32 : Dtype::Float64);
  SvdResult r;
  try {
    r = dtype == Dtype::Float32 ? run<float>(local, row_begin, global_rows, options, seed)
                                : run<double>(local, row_begin, global_rows, options, seed);
  } catch (const ShapeError&) {
    throw;
  } catch (const std::invalid_argument& e) {
    throw SvdOptionError(e.what());
  }

  // ‖M − U S Vᵀ‖_F / ‖M‖_F and max(max|UᵀU − I|, max|VᵀV − I|), over all rows.
  const Index k = r.U.cols();
  // On M / max|m_ij| (and S likewise), so that no sum of squares over- or underflows.
  double a = local.size() > 0 ? local.cwiseAbs().maxCoeff() : 0.0;
  mpi::max(&a, 1);
  if (!(a > 0)) a = 1;
  const Matrix<double> ma = local / a;
  const Matrix<double> approx = r.U * (r.singular_values / a).asDiagonal() * r.V.transpose();
  double sums[2] = {(ma - approx).squaredNorm(), ma.squaredNorm()};
  Matrix<double> utu = r.U.transpose() * r.U;
  mpi::sum(sums, 2);
  mpi::sum(utu.data(), utu.size());
  r.reconstruction_error = sums[1] > 0 ? std::sqrt(sums[0] / sums[1]) : std::sqrt(sums[0]);
  const Matrix<double> eye = Matrix<double>::Identity(k, k);
  r.orthogonality_error =
      std::max((utu - eye).cwiseAbs().maxCoeff(), (r.V.transpose() * r.V - eye).cwiseAbs().maxCoeff());
  return r;
}

}  // namespace tapegrad::svd
