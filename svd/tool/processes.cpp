// The processes of a run and their agreement on failures. See processes.hpp.
#include "processes.hpp"

#include <cstdio>

#include "launcher.hpp"

namespace tapegrad::svd::tool {

double failure_vote(int rank, int size, const std::optional<Failure>& mine) {
  return mine ? double(size - rank) * 16 + mine->code : 0;
}

Verdict read_votes(double max_vote, int rank, int size) {
  const auto k = static_cast<int>(max_vote);
  return {k % 16, k > 0 && size - k / 16 == rank};
}

Processes::Processes(int* argc, char*** argv) {
  if (!launched_with_several_processes()) return;
#if defined(TAPEGRAD_HAVE_MPI)
  context_.emplace(argc, argv);
  rank_ = context_->rank();
  size_ = context_->size();
#else
  (void)argc;
  (void)argv;
  throw UsageError{
      "this tapegrad-svd was built without MPI, so it cannot run as several processes: run it "
      "without mpirun, or rebuild with Open MPI installed (libopenmpi-dev; TAPEGRAD_USE_MPI)"};
#endif
}

int Processes::settle(const std::optional<Failure>& mine) const {
  Verdict v{mine ? mine->code : 0, mine.has_value()};
#if defined(TAPEGRAD_HAVE_MPI)
  if (several()) {
    double vote = failure_vote(rank_, size_, mine);
    context_->max(&vote, 1);
    v = read_votes(vote, rank_, size_);
  }
#endif
  if (v.report) std::fprintf(stderr, "tapegrad-svd: %s\n", mine->message.c_str());
  return v.code;
}

int Processes::fail_alone(const Failure& f) const {
  std::fprintf(stderr, "tapegrad-svd: %s\n", f.message.c_str());
#if defined(TAPEGRAD_HAVE_MPI)
  if (several()) {
    std::fflush(stderr);
    context_->abort(f.code);
  }
#endif
  return f.code;
}

Matrix<double> Processes::gather_rows(const Matrix<double>& local) const {
#if defined(TAPEGRAD_HAVE_MPI)
  if (several()) return context_->gather_rows(local);
#endif
  return local;
}

}  // namespace tapegrad::svd::tool
