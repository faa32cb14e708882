// allreduce_sum and replicated: a loss over rows split across processes equals the loss over
// all rows computed by one process, and so do the parameters' gradients. Run by CTest through mpirun
// with 1, 2 and 3 processes (uneven row blocks).
#include <random>

#include "mpi_check.hpp"
#include "tapegrad/autodiff.hpp"
#include "tapegrad/mpi/collective.hpp"
#include "tapegrad/svd/partition.hpp"

using namespace tapegrad;
using tapegrad::mpi::allreduce_sum;
using tapegrad::mpi::replicated;

namespace {

// The same pseudo-random matrix on every process.
Matrix<double> data(Index r, Index c, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-1, 1);
  Matrix<double> m(r, c);
  for (Index j = 0; j < c; ++j)
    for (Index i = 0; i < r; ++i) m(i, j) = u(rng);
  return m;
}

// Least squares with a shared weight and bias: mean over all rows of (X w + b − y)², plus a penalty on w
// that every process computes identically (so it uses w directly, not replicated(ctx, w)).
void least_squares(const mpi::Context& ctx) {
  const Index m = 11, d = 3;
  const Matrix<double> X = data(m, d, 1), y = data(m, 1, 2);
  Parameter<double> w(data(d, 1, 3)), b(data(1, 1, 4));

  // One process, all rows.
  Tape<double> t1;
  auto full =
      sum_squares(matmul(t1.constant(X), t1.parameter(w)) + t1.parameter(b) - t1.constant(y)) / double(m) +
      sum_squares(t1.parameter(w)) * 0.01;
  t1.backward(full);
  const Matrix<double> gw = w.grad, gb = b.grad;
  const double loss1 = full.value()(0, 0);
  w.zero_grad();
  b.zero_grad();

  // This process's rows.
  const auto blk = svd::row_block(m, ctx.rank(), ctx.size());
  Tape<double> t;
  auto local =
      sum_squares(matmul(t.constant(X.middleRows(blk.begin, blk.count)), replicated(ctx, t.parameter(w))) +
                  replicated(ctx, t.parameter(b)) - t.constant(y.middleRows(blk.begin, blk.count)));
  auto loss = allreduce_sum(ctx, local) / double(m) + sum_squares(t.parameter(w)) * 0.01;
  t.backward(loss);
  double err = 0;
  MPI_CHECK(std::abs(loss.value()(0, 0) - loss1) <= 1e-14 * std::abs(loss1));
  MPI_CHECK(mpitest::close(w.grad, gw, 1e-14, &err));
  MPI_CHECK(mpitest::close(b.grad, gb, 1e-14, &err));

  // Replayed on new values (forward() is collective too), the gradients still agree.
  w.value *= 0.5;
  w.zero_grad();
  b.zero_grad();
  t.forward();
  t.backward(loss);
  t1.forward();
  const Matrix<double> gw_dist = w.grad, gb_dist = b.grad;
  w.zero_grad();
  b.zero_grad();
  t1.backward(full);
  MPI_CHECK(std::abs(loss.value()(0, 0) - full.value()(0, 0)) <= 1e-14 * std::abs(full.value()(0, 0)));
  MPI_CHECK(mpitest::close(gw_dist, w.grad, 1e-14));
  MPI_CHECK(mpitest::close(gb_dist, b.grad, 1e-14));
}

// The SVD's pattern: U split by rows (local), s and V shared. UᵀU = allreduce_sum(ctx, crossprod(U_p)); the
// fit's per-process part uses replicated(ctx, s), replicated(ctx, V); the VᵀV penalty uses V directly.
template <class T>
void svd_loss(const mpi::Context& ctx, double tol) {
  const Index m = 7, n = 4, k = 3;
  const Matrix<T> M = data(m, n, 5).cast<T>();
  const Matrix<T> U0 = data(m, k, 6).cast<T>();
  Parameter<T> s(data(1, k, 7).cast<T>()), v(data(n, k, 8).cast<T>());
  const Matrix<T> I = Matrix<T>::Identity(k, k);

  Parameter<T> u_all(U0);
  Tape<T> t1;
  {
    auto U = t1.parameter(u_all), S = t1.parameter(s), V = t1.parameter(v);
    auto fit = sum_squares(matmul(scale_columns(U, S), transpose(V)) - t1.constant(M)) * T(0.5);
    auto loss =
        fit +
        (sum_squares(crossprod(U) - t1.constant(I)) + sum_squares(crossprod(V) - t1.constant(I))) * T(0.025);
    t1.backward(loss);
  }
  const Matrix<T> gs = s.grad, gv = v.grad;
  s.zero_grad();
  v.zero_grad();
  const double loss1 = double(t1.value_of(std::uint32_t(t1.size() - 1))(0, 0));

  const auto blk = svd::row_block(m, ctx.rank(), ctx.size());
  Parameter<T> u(U0.middleRows(blk.begin, blk.count));
  Tape<T> t;
  auto U = t.parameter(u), S = t.parameter(s), V = t.parameter(v);
  auto fit = allreduce_sum(
      ctx, sum_squares(matmul(scale_columns(U, replicated(ctx, S)), transpose(replicated(ctx, V))) -
                       t.constant(M.middleRows(blk.begin, blk.count))) *
               T(0.5));
  auto G = allreduce_sum(ctx, crossprod(U));
  auto loss = fit + (sum_squares(G - t.constant(I)) + sum_squares(crossprod(V) - t.constant(I))) * T(0.025);
  t.backward(loss);
  MPI_CHECK(std::abs(double(loss.value()(0, 0)) - loss1) <= tol * std::abs(loss1));
  MPI_CHECK(mpitest::close(u.grad, u_all.grad.middleRows(blk.begin, blk.count), tol));
  MPI_CHECK(mpitest::close(s.grad, gs, tol));
  MPI_CHECK(mpitest::close(v.grad, gv, tol));
  // Shared gradients are the same on every process, to the bit (they come out of one allreduce).
  Matrix<double> spread = v.grad.template cast<double>(), neg = -spread;
  ctx.max(spread.data(), spread.size());
  ctx.max(neg.data(), neg.size());
  MPI_CHECK((spread + neg).cwiseAbs().maxCoeff() == 0);
}

// Hessian-vector products through the collective ops: the SVD's pattern split by rows gives the
// same H v as one process over all rows (U's block of it, and the shared s and V entirely).
void svd_hvp(const mpi::Context& ctx) {
  const Index m = 7, n = 4, k = 3;
  const Matrix<double> M = data(m, n, 11), U0 = data(m, k, 12), I = Matrix<double>::Identity(k, k);
  Parameter<double> u_all(U0), s(data(1, k, 13)), v(data(n, k, 14));
  const Matrix<double> du = data(m, k, 15), ds = data(1, k, 16), dv = data(n, k, 17);
  auto one = hvp(
      [&](Tape<double>& t) {
        auto U = t.parameter(u_all), S = t.parameter(s), V = t.parameter(v);
        auto fit = mean(square(matmul(matmul(U, diag(S)), transpose(V)) - t.constant(M)));
        return fit + sum_squares(crossprod(U) - t.constant(I)) * 0.1 + sum(tanh(crossprod(V)));
      },
      std::vector<Parameter<double>*>{&u_all, &s, &v}, {du, ds, dv});
  const auto blk = svd::row_block(m, ctx.rank(), ctx.size());
  Parameter<double> u(U0.middleRows(blk.begin, blk.count));
  auto dist = hvp(
      [&](Tape<double>& t) {
        auto U = t.parameter(u), S = t.parameter(s), V = t.parameter(v);
        auto local = sum_squares(matmul(matmul(U, diag(replicated(ctx, S))), transpose(replicated(ctx, V))) -
                                 t.constant(M.middleRows(blk.begin, blk.count)));
        auto fit = allreduce_sum(ctx, local) / double(m * n);
        return fit + sum_squares(allreduce_sum(ctx, crossprod(U)) - t.constant(I)) * 0.1 +
               sum(tanh(crossprod(V)));
      },
      std::vector<Parameter<double>*>{&u, &s, &v},
      {Matrix<double>(du.middleRows(blk.begin, blk.count)), ds, dv});
  MPI_CHECK(std::abs(dist.loss - one.loss) <= 1e-13 * std::abs(one.loss));
  MPI_CHECK(mpitest::close(dist.hv[0], one.hv[0].middleRows(blk.begin, blk.count), 1e-12));
  MPI_CHECK(mpitest::close(dist.hv[1], one.hv[1], 1e-12));
  MPI_CHECK(mpitest::close(dist.hv[2], one.hv[2], 1e-12));
  MPI_CHECK(mpitest::close(dist.gradient[2], one.gradient[2], 1e-12));
}

// A process without rows (more processes than rows) contributes zero and still takes part.
void empty_block(const mpi::Context& ctx) {
  const Index m = 2, d = 2;
  const Matrix<double> X = data(m, d, 9);
  Parameter<double> w(data(d, 1, 10));
  Tape<double> t1;
  auto full = sum_squares(matmul(t1.constant(X), t1.parameter(w)));
  t1.backward(full);
  const Matrix<double> gw = w.grad;
  w.zero_grad();
  const auto blk = svd::row_block(m, ctx.rank(), ctx.size());
  Tape<double> t;
  auto loss = allreduce_sum(ctx, sum_squares(matmul(t.constant(X.middleRows(blk.begin, blk.count)),
                                                    replicated(ctx, t.parameter(w)))));
  t.backward(loss);
  MPI_CHECK(std::abs(loss.value()(0, 0) - full.value()(0, 0)) <= 1e-14 * full.value()(0, 0));
  MPI_CHECK(mpitest::close(w.grad, gw, 1e-14));
}

}  // namespace

int main(int argc, char** argv) {
  mpi::Context ctx(&argc, &argv);
  mpitest::start(ctx);
  least_squares(ctx);
  svd_loss<double>(ctx, 1e-14);
  svd_loss<float>(ctx, 1e-5);
  svd_hvp(ctx);
  if (ctx.size() >= 3) empty_block(ctx);
  return mpitest::finish(ctx, "test_collective");
}
