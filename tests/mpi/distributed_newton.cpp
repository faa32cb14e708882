// Data-parallel trust-region Newton: the rows of a logistic regression's (X, y) are split over the
// processes, the weights are replicated. The loss, its gradient and its Hessian-vector products are global
// (allreduce_sum and replicated: their tangent passes are collective too), so every process's TrustRegion
// makes the same steps, and the result equals one process's on all rows, to rounding.
//
//   mpirun -np 3 --oversubscribe distributed_newton
#include <cstdio>
#include <random>

#include "mpi_check.hpp"
#include "tapegrad/autodiff.hpp"
#include "tapegrad/mpi/collective.hpp"
#include "tapegrad/optim.hpp"
#include "tapegrad/svd/partition.hpp"

using namespace tapegrad;

namespace {

struct Data {
  Matrix<double> X, y;
};

// The same data on every process (each then keeps its rows): labels from a logistic model.
Data make_data(Index m, Index d) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> g;
  std::uniform_real_distribution<double> u(0.0, 1.0);
  Data data{Matrix<double>(m, d), Matrix<double>(m, 1)};
  for (Index j = 0; j < d; ++j)
    for (Index i = 0; i < m; ++i) data.X(i, j) = g(rng);
  for (Index i = 0; i < m; ++i) {
    double z = 0.3;
    for (Index j = 0; j < d; ++j) z += data.X(i, j) * double(j + 1) / double(d);
    data.y(i) = u(rng) < 1 / (1 + std::exp(-z)) ? 1.0 : 0.0;
  }
  return data;
}

constexpr double kLam = 1e-2;

// TrustRegion on mean(softplus(X w) - y X w) + lam/2 |w|²; with distributed, over this process's rows.
optim::TrustRegionStatus train(const mpi::Context& ctx, const Data& all, Index row0, Index rows,
                               bool distributed, Parameter<double>& w, long& iterations) {
  const Index m = all.X.rows();
  const Matrix<double> X = all.X.middleRows(row0, rows), y = all.y.middleRows(row0, rows);
  HvpTape<double> h(
      [&](Tape<double>& t) {
        auto W = t.parameter(w);
        auto reg = sum(square(W)) * (kLam / 2);  // on the parameter itself: the same on every process
        if (!distributed)
          return binary_cross_entropy_with_logits(matmul(t.constant(X), W), t.constant(y)) + reg;
        // This process's sum over its rows (the op's mean times the row count), summed over processes.
        auto local =
            binary_cross_entropy_with_logits(matmul(t.constant(X), mpi::replicated(ctx, W)), t.constant(y)) *
            double(rows);
        return mpi::allreduce_sum(ctx, local) / double(m) + reg;
      },
      {&w});
  optim::TrustRegion<double> opt(h, {.gtol = 1e-10});
  const auto status = opt.minimize();
  iterations = opt.iterations();
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  mpi::Context ctx(&argc, &argv);
  mpitest::start(ctx);
  const Index m = 1001, d = 8;  // 1001 rows: uneven blocks
  const Data data = make_data(m, d);

  Parameter<double> w1(Matrix<double>::Zero(d, 1));
  long it1 = 0;
  const auto s1 =
      train(ctx, data, 0, m, false, w1, it1);  // one process, all rows (every process computes it)

  const auto blk = svd::row_block(m, ctx.rank(), ctx.size());
  Parameter<double> w(Matrix<double>::Zero(d, 1));
  long it = 0;
  const auto s = train(ctx, data, blk.begin, blk.count, true, w, it);

  double e = 0;
  MPI_CHECK(s1 == optim::TrustRegionStatus::converged);
  MPI_CHECK(s == optim::TrustRegionStatus::converged);
  MPI_CHECK(it == it1);
  MPI_CHECK(mpitest::close(w.value, w1.value, 1e-10, &e));
  if (ctx.rank() == 0)
    std::printf(
        "rows %ld..%ld of %ld on rank 0; %ld Newton iterations; w differs from one process's by %.2e\n",
        long(blk.begin), long(blk.begin + blk.count), long(m), it, e);
  return mpitest::finish(ctx, "distributed_newton");
}
