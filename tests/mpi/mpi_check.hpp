// A minimal check harness for tests run under mpirun: every process runs every check; failures are counted
// (never thrown, so no process leaves a collective call that the others are waiting in) and combined over
// the processes at the end. Process 0 prints the verdict; the exit code is 1 on every process if any failed.
#pragma once

#include <cmath>
#include <cstdio>
#include <string>

#include "tapegrad/autodiff/matrix.hpp"
#include "tapegrad/mpi/collective.hpp"

namespace mpitest {

inline int& failures() {
  static int n = 0;
  return n;
}

/// This process's rank, for the messages (start() sets it).
inline int& rank() {
  static int r = 0;
  return r;
}

/// Makes the messages name this process's rank; call it once the Context exists.
inline void start(const tapegrad::mpi::Context& ctx) { rank() = ctx.rank(); }

inline void check(bool ok, const std::string& what, const char* file, int line) {
  if (ok) return;
  ++failures();
  std::fprintf(stderr, "[rank %d] %s:%d: FAILED: %s\n", rank(), file, line, what.c_str());
}

/// max |a − b| / max(1, max |b|) <= tol, with the shapes equal.
template <class A, class B>
bool close(const A& a, const B& b, double tol, double* err = nullptr) {
  if (a.rows() != b.rows() || a.cols() != b.cols()) return false;
  if (a.size() == 0) return true;
  const double scale = std::max(1.0, double(b.cwiseAbs().maxCoeff()));
  const double e = double((a - b).cwiseAbs().maxCoeff()) / scale;
  if (err) *err = e;
  return e <= tol;
}

/// Combines the failures of all processes; returns the exit code.
inline int finish(const tapegrad::mpi::Context& ctx, const char* name) {
  double f = failures();
  ctx.sum(&f, 1);
  if (ctx.rank() == 0)
    std::printf("%s: %s on %d process(es)%s\n", name, f == 0 ? "all checks passed" : "FAILED", ctx.size(),
                f == 0 ? "" : (" (" + std::to_string(int(f)) + " failed checks)").c_str());
  return f == 0 ? 0 : 1;
}

}  // namespace mpitest

#define MPI_CHECK(cond) ::mpitest::check((cond), #cond, __FILE__, __LINE__)
