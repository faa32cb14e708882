// Collective ops over MPI processes (library tapegrad::mpi; docs/scale-out.md).
//
// Two ops make a data-parallel loss an ordinary graph. Every process records the same graph on its own
// block of the data; the ops exchange only what they are given:
//
//   allreduce_sum(ctx, x)  forward: the sum of x over all processes (MPI_Allreduce), the same on every
//                          process; backward: the gradient passes through unchanged (every process holds
//                          the same dY).
//   replicated(ctx, x)     forward: x unchanged (x holds the same value on every process: a shared
//                          parameter); backward: the gradient is summed over processes (MPI_Allreduce).
//
// So, with X_p this process's rows and w a parameter shared by all processes,
//
//   auto w_p = replicated(ctx, tape.parameter(w));
//   auto loss = allreduce_sum(ctx, sum_squares(matmul(tape.constant(X_p), w_p) - Y_p));
//
// is the loss over all rows on every process, and w.grad after backward() is the full gradient on every
// process. Use replicated(·) only on the paths that lead into an allreduce_sum (the per-process part);
// a term every process computes identically from replicated values (a penalty on w) uses w directly.
//
// Both ops are collective: every process must record, replay (forward) and backward the same graph, in
// the same order. They use the communicator of the Context they are given (a duplicate of MPI_COMM_WORLD,
// so tapegrad's messages never mix with the application's), which each node keeps as its op's parameter:
// there is no process-wide state. The headers do not include <mpi.h>: a program that uses MPI itself links
// MPI::MPI_CXX as well.
#pragma once

#include <cstdint>
#include <memory>

#include "tapegrad/autodiff/tape.hpp"

/// Collective ops over MPI processes, and the context they run in (library tapegrad::mpi).
namespace tapegrad::mpi {

/// Communication counters of a Context since it was made or reset: the number of collective calls and the
/// payload bytes handed to them (an allreduce of B bytes moves about 2B(P−1)/P bytes per process with a
/// ring algorithm, and about B log2 P with recursive doubling, Open MPI's choice for small messages).
struct Traffic {
  std::int64_t calls = 0;  ///< collective calls
  std::int64_t bytes = 0;  ///< payload bytes handed to them
};

/// The processes the collective ops work over: its own duplicate of MPI_COMM_WORLD. Make one in main()
/// and keep it alive while its ops and calls run; pass it to them. Initialises MPI if nobody has
/// (MPI_Init_thread, MPI_THREAD_FUNNELED), and finalises MPI on destruction if it initialised it (so the
/// Context that initialised MPI must be the last one destroyed). Every call below is collective: every
/// process makes it, in the same order. The calls are const, like MPI's on a communicator handle; only the
/// traffic counters change.
class Context {
 public:
  /// Initialises MPI if needed (argc and argv as for MPI_Init; may be null) and duplicates MPI_COMM_WORLD.
  Context(int* argc, char*** argv);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  /// This process's rank, 0 to size() - 1.
  int rank() const { return rank_; }
  /// The number of processes.
  int size() const { return size_; }

  /// In-place sums of `count` values over all processes.
  void sum(double* values, std::int64_t count) const;
  /// The same in float.
  void sum(float* values, std::int64_t count) const;
  /// In-place maxima of `count` values over all processes.
  void max(double* values, std::int64_t count) const;
  /// The same in float.
  void max(float* values, std::int64_t count) const;
  /// Blocks until every process has called it.
  void barrier() const;
  /// Every process's rows (all with the same number of columns), stacked in rank order on process 0; an
  /// empty matrix on the other processes. If process 0 cannot allocate the result, every process throws
  /// std::bad_alloc.
  Matrix<double> gather_rows(const Matrix<double>& local) const;
  /// Ends every process of the job (MPI_Abort) with this exit code: for a failure met by some processes
  /// only, in the middle of collective work, where the others would otherwise wait forever. Not collective.
  [[noreturn]] void abort(int code) const;

  /// This process's counters since the context was made or last reset.
  Traffic traffic() const { return traffic_; }
  /// Sets the counters to zero.
  void reset_traffic() { traffic_ = {}; }

 private:
  template <class T>
  void allreduce(T* values, std::int64_t count, bool maximum) const;
  template <class T>
  friend struct Ops;  // the collective ops' functions (collective.cpp)

  struct Comm;  // the MPI_Comm (collective.cpp)
  std::unique_ptr<Comm> comm_;
  int rank_ = 0, size_ = 1;
  bool finalize_ = false;
  mutable Traffic traffic_;
};

/// Y = Σ_p X_p over all processes of ctx, on every process. Backward: dX_p += dY. The node keeps a pointer
/// to ctx: it must outlive the tape's use of the node.
template <class T>
Var<T> allreduce_sum(const Context& ctx, Var<T> x);
/// Y = X, where X holds the same value on every process of ctx. Backward: dX += Σ_p dY_p. The node keeps a
/// pointer to ctx, as allreduce_sum's.
template <class T>
Var<T> replicated(const Context& ctx, Var<T> x);

}  // namespace tapegrad::mpi
