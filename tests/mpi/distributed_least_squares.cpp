// Data-parallel linear least squares: the rows of (X, y) are split over the processes; the
// weights are shared. The loss is an ordinary graph with the two collective ops, every process takes the
// same Adam steps, and the result equals one process training on all rows, to rounding.
//
//   mpirun -np 3 --oversubscribe distributed_least_squares
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

// The same data on every process (each then keeps its rows): y = X w* + 0.5 + noise.
Data make_data(Index m, Index d) {
  std::mt19937_64 rng(42);
  std::normal_distribution<double> g;
  Data data{Matrix<double>(m, d), Matrix<double>(m, 1)};
  Matrix<double> w_true(d, 1);
  for (Index i = 0; i < d; ++i) w_true(i) = double(i + 1) / double(d);
  for (Index j = 0; j < d; ++j)
    for (Index i = 0; i < m; ++i) data.X(i, j) = g(rng);
  for (Index i = 0; i < m; ++i) data.y(i) = data.X.row(i).dot(w_true.col(0)) + 0.5 + 0.01 * g(rng);
  return data;
}

// Adam on mean((X w + b − y)²) for `steps` steps; with distributed, over this process's rows.
void train(const mpi::Context& ctx, const Data& all, Index row0, Index rows, bool distributed,
           Parameter<double>& w, Parameter<double>& b, int steps) {
  const Index m = all.X.rows();
  optim::Adam<double> opt({&w, &b}, {.lr = 0.05});
  Tape<double> tape;
  auto X = tape.constant(all.X.middleRows(row0, rows)), y = tape.constant(all.y.middleRows(row0, rows));
  Var<double> loss;
  if (distributed) {
    auto local = sum_squares(matmul(X, mpi::replicated(ctx, tape.parameter(w))) +
                             mpi::replicated(ctx, tape.parameter(b)) - y);
    loss = mpi::allreduce_sum(ctx, local) / double(m);
  } else {
    loss = sum_squares(matmul(X, tape.parameter(w)) + tape.parameter(b) - y) / double(m);
  }
  for (int step = 0; step < steps; ++step) {
    if (step > 0) tape.forward();  // replay the recorded graph on the updated weights
    opt.zero_grad();
    tape.backward(loss);
    opt.step();
  }
}

}  // namespace

int main(int argc, char** argv) {
  mpi::Context ctx(&argc, &argv);
  mpitest::start(ctx);
  const Index m = 1001, d = 8;  // 1001 rows: uneven blocks for 2, 3, 4 processes
  const int steps = 400;
  const Data data = make_data(m, d);

  Parameter<double> w1(Matrix<double>::Zero(d, 1)), b1(Matrix<double>::Zero(1, 1));
  train(ctx, data, 0, m, false, w1, b1, steps);  // one process, all rows (every process computes it)

  const auto blk = svd::row_block(m, ctx.rank(), ctx.size());
  Parameter<double> w(Matrix<double>::Zero(d, 1)), b(Matrix<double>::Zero(1, 1));
  ctx.reset_traffic();
  train(ctx, data, blk.begin, blk.count, true, w, b, steps);
  const auto traffic = ctx.traffic();

  double e = 0;
  MPI_CHECK(mpitest::close(w.value, w1.value, 1e-12, &e));
  MPI_CHECK(mpitest::close(b.value, b1.value, 1e-12));
  MPI_CHECK(std::abs(b.value(0, 0) - 0.5) < 0.01);  // and it did learn the data
  MPI_CHECK(std::abs(w.value(d - 1, 0) - 1.0) < 0.01);
  if (ctx.rank() == 0)
    std::printf(
        "rows %ld..%ld of %ld on rank 0; w differs from one process's by %.2e (max rel.); "
        "%.1f allreduce calls, %.0f bytes per step\n",
        long(blk.begin), long(blk.begin + blk.count), long(m), e, double(traffic.calls) / steps,
        double(traffic.bytes) / steps);
  return mpitest::finish(ctx, "distributed_least_squares");
}
