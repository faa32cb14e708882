// Collective ops over MPI processes (library tapegrad::mpi; docs/scale-out.md).
//
// Two ops make a data-parallel loss an ordinary graph. Every process records the same graph on its own
// block of the data; the ops exchange only what they are given:
//
//   allreduce_sum(x)   forward: the sum of x over all processes (MPI_Allreduce), the same on every process;
//                      backward: the gradient passes through unchanged (every process holds the same dY).
//   replicated(x)      forward: x unchanged (x holds the same value on every process: a shared parameter);
//                      backward: the gradient is summed over processes (MPI_Allreduce).
//
// So, with X_p this process's rows and w a parameter shared by all processes,
//
//   auto loss = allreduce_sum(sum_squares(matmul(tape.constant(X_p), replicated(tape.parameter(w))) - Y_p));
//
// is the loss over all rows on every process, and w.grad after backward() is the full gradient on every
// process. Use replicated(·) only on the paths that lead into an allreduce_sum (the per-process part);
// a term every process computes identically from replicated values (a penalty on w) uses w directly.
//
// Both ops are collective: every process must record, replay (forward) and backward the same graph, in
// the same order. They use the communicator of the process-wide tapegrad::mpi::Context (a duplicate of
// MPI_COMM_WORLD), so tapegrad's messages never mix with the application's. The headers do not include
// <mpi.h>: a program that uses MPI itself links MPI::MPI_CXX as well.
#pragma once

#include <cstdint>

#include "tapegrad/autodiff/tape.hpp"

/// Collective ops over MPI processes and the process-wide MPI context (library tapegrad::mpi).
namespace tapegrad::mpi {

/// The processes the collective ops work over. Make exactly one, in main(), before any collective op,
/// and keep it alive while they run. Initialises MPI if nobody has (MPI_Init_thread, MPI_THREAD_FUNNELED),
/// duplicates MPI_COMM_WORLD, and finalises MPI on destruction if it initialised it.
class Context {
 public:
  /// Initialises MPI if needed (argc and argv as for MPI_Init; may be null) and becomes the live context.
  Context(int* argc, char*** argv);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  /// This process's rank, 0 to size() - 1.
  int rank() const { return rank_; }
  /// The number of processes.
  int size() const { return size_; }
  /// The live context; throws std::logic_error if there is none.
  static Context& current();
  /// True when there is a live context.
  static bool active();

 private:
  int rank_ = 0, size_ = 1;
  bool finalize_ = false;
};

/// Ends every process of the job (MPI_Abort) with this exit code: for a failure met by some processes
/// only, in the middle of collective work, where the others would otherwise wait forever.
[[noreturn]] void abort(int code);

/// In-place sums and maxima of `count` values over all processes of the current context (collective).
void sum(double* values, std::int64_t count);
/// The same in float.
void sum(float* values, std::int64_t count);
/// In-place maxima of `count` values over all processes (collective).
void max(double* values, std::int64_t count);
/// The same in float.
void max(float* values, std::int64_t count);
/// Blocks until every process has called it.
void barrier();
/// Every process's rows (all with the same number of columns), stacked in rank order on process 0
/// (collective); an empty matrix on the other processes. If process 0 cannot allocate the result, every
/// process throws std::bad_alloc.
Matrix<double> gather_rows(const Matrix<double>& local);

/// Communication counters of this process since the last reset: the number of collective calls and the
/// payload bytes handed to them (an allreduce of B bytes moves about 2B(P−1)/P bytes per process with a
/// ring algorithm, and about B log2 P with recursive doubling, Open MPI's choice for small messages).
struct Traffic {
  std::int64_t calls = 0;  ///< collective calls
  std::int64_t bytes = 0;  ///< payload bytes handed to them
};
/// This process's counters since the last reset.
Traffic traffic();
/// Sets the counters to zero.
void reset_traffic();

/// Y = Σ_p X_p over all processes, on every process. Backward: dX_p += dY.
template <class T>
Var<T> allreduce_sum(Var<T> x);
/// Y = X, where X holds the same value on every process. Backward: dX += Σ_p dY_p.
template <class T>
Var<T> replicated(Var<T> x);

/// Rows [begin, begin + count) of an m-row matrix for process `rank` of `size`: contiguous blocks, the
/// first m mod size processes get one row more.
struct RowBlock {
  Index begin = 0;  ///< the first row
  Index count = 0;  ///< the number of rows
};
/// The block of `rows` rows that process `rank` of `size` holds.
RowBlock row_block(Index rows, int rank, int size);

}  // namespace tapegrad::mpi
