// solve_distributed: the recipes of solve() on row blocks, through the hooks of detail::Partition filled
// with tapegrad::mpi's collectives (compiled into tapegrad::mpi, the only library that links MPI).
#include "tapegrad/svd/distributed.hpp"

#include <cmath>

#include "recipes.hpp"
#include "tapegrad/autodiff/collective.hpp"
#include "tapegrad/svd/loss.hpp"

namespace tapegrad::svd {

namespace {

using mpi::allreduce_sum;
using mpi::replicated;

// The auto loss on this process's rows: ½‖U_p diag(s) Vᵀ − M_p‖² summed over processes, plus the penalty
// on UᵀU = Σ_p U_pᵀU_p and on VᵀV (computed identically everywhere from the replicated V, so V enters
// it directly and s, V enter the per-process fit through replicated).
template <class T>
Var<T> auto_loss_rows(Tape<T>& tape, Parameter<T>& u, Parameter<T>& s, Parameter<T>& v, const Matrix<T>& m,
                      T mu) {
  const Index k = u.cols();
  auto U = tape.parameter(u), S = tape.parameter(s), V = tape.parameter(v);
  auto I = tape.constant(Matrix<T>::Identity(k, k));
  auto residual = matmul(scale_columns(U, replicated(S)), transpose(replicated(V))) - tape.constant(m);
  auto fit = allreduce_sum(sum_squares(residual)) * T(0.5);
  auto orth = sum_squares(allreduce_sum(gram(U)) - I) + sum_squares(gram(V) - I);
  return fit + orth * (mu / T(4));
}

// The seed loss on this process's rows: mse(U S Vᵀ, M) = Σ_p ‖U_p S Vᵀ − M_p‖² / (m n), and
// mse(UᵀU, I) with UᵀU = Σ_p U_pᵀU_p; mse(V Vᵀ, I) from the replicated V.
template <class T>
Var<T> seed_loss_rows(Tape<T>& tape, Parameter<T>& u, Parameter<T>& d, Parameter<T>& v, const Matrix<T>& m,
                      Index global_rows) {
  const Index n = v.rows();
  auto U = tape.parameter(u), D = tape.parameter(d), V = tape.parameter(v);
  auto I = tape.constant(Matrix<T>::Identity(n, n));
  auto us = scale_columns(U, square(replicated(D)));
  auto fit = allreduce_sum(sum_squares(matmul(us, transpose(replicated(V))) - tape.constant(m))) /
             T(double(global_rows) * double(n));
  auto orth_u = mse(allreduce_sum(gram(U)), I);
  auto orth_v = mse(matmul(V, transpose(V)), I);
  return fit + orth_u / T(100) + orth_v / T(100);
}

template <class T>
detail::Partition<T> partition(Index row_begin, Index global_rows, bool seed) {
  detail::Partition<T> p;
  p.global_rows = global_rows;
  p.row_begin = row_begin;
  p.root = mpi::Context::current().rank() == 0;
  p.sum_d = [](double* x, Index n) { mpi::sum(x, n); };
  p.max_d = [](double* x, Index n) { mpi::max(x, n); };
  p.sum = [](T* x, Index n) { mpi::sum(x, n); };
  if (seed) {
    p.loss = [global_rows](Tape<T>& t, Parameter<T>& u, Parameter<T>& d, Parameter<T>& v, const Matrix<T>& m,
                           T) { return seed_loss_rows(t, u, d, v, m, global_rows); };
  } else {
    p.loss = [](Tape<T>& t, Parameter<T>& u, Parameter<T>& s, Parameter<T>& v, const Matrix<T>& m, T mu) {
      return auto_loss_rows(t, u, s, v, m, mu);
    };
  }
  return p;
}

template <class T>
SvdResult run(const Matrix<double>& local, Index row_begin, Index global_rows, const SvdOptions& o,
              bool seed) {
  const auto p = partition<T>(row_begin, global_rows, seed);
  return seed ? detail::run_seed<T>(local, o, &p) : detail::run_auto<T>(local, o, &p);
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
  detail::validate(global_rows, local.cols(), options);
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
  const Matrix<double> approx = r.U * r.singular_values.asDiagonal() * r.V.transpose();
  double sums[2] = {(local - approx).squaredNorm(), local.squaredNorm()};
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
