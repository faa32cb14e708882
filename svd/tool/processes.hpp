// The processes of a tapegrad-svd run: one, or the P of `mpirun -np P tapegrad-svd` (docs/scale-out.md), and
// how they agree on failures so that no process goes on into a collective operation the others have left.
#pragma once

#include <optional>

#include "errors.hpp"
#include "tapegrad/autodiff/matrix.hpp"

#if defined(TAPEGRAD_HAVE_MPI)
#include "tapegrad/mpi/collective.hpp"
#endif

namespace tapegrad::svd::tool {

/// The failure-agreement protocol's arithmetic (Processes::settle), apart from MPI so that it is tested on
/// its own. Each process votes; the processes take the maximum of the votes; each reads the outcome from it.
/// A vote is (size - rank) * 16 + code for a failure (codes are below 16), 0 otherwise: the maximum names
/// the lowest failing rank and its code.
double failure_vote(int rank, int size, const std::optional<Failure>& mine);
/// What the maximum vote means for process `rank`: the exit code of the run (0: no process failed), and
/// whether this process is the one that prints its message.
struct Verdict {
  int code = 0;
  bool report = false;
};
Verdict read_votes(double max_vote, int rank, int size);

/// The processes of this run. Every process parses the same options and reads the matrix's shape; each reads
/// only its block of rows, and they solve together (solve_distributed); process 0 alone gathers U, writes
/// --out and prints.
class Processes {
 public:
  /// One process, or MPI initialised when launched by mpirun (UsageError if built without MPI).
  Processes(int* argc, char*** argv);
  int rank() const { return rank_; }
  int size() const { return size_; }
  bool several() const { return size_ > 1; }
  bool root() const { return rank_ == 0; }

  /// Every process calls it with its own outcome of the same step. Returns 0 when no process failed;
  /// otherwise the lowest-ranked process that failed prints its message and every process returns its code.
  int settle(const std::optional<Failure>& mine) const;

  /// For a failure that may have hit some processes only, in the middle of collective work (the solve, the
  /// gathering of U): prints it and ends every process with its code (MPI_Abort), since the others may be
  /// waiting in a collective operation that this process will never join. On one process, just the code.
  int fail_alone(const Failure& f) const;

  /// U's rows from every process, in order, on process 0 (collective).
  Matrix<double> gather_rows(const Matrix<double>& local) const;

#if defined(TAPEGRAD_HAVE_MPI)
  /// The MPI context of a run of several processes (only when several()).
  const mpi::Context& context() const { return *context_; }
#endif

 private:
#if defined(TAPEGRAD_HAVE_MPI)
  std::optional<mpi::Context> context_;
#endif
  int rank_ = 0, size_ = 1;
};

}  // namespace tapegrad::svd::tool
