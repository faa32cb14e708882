// tapegrad-svd: the SVD of a matrix file by gradient descent, from the command line. Run with --help.
// This file orchestrates a run: options.hpp (the command line), outputs.hpp (what a run writes),
// out_dir.hpp (--out as one unit), processes.hpp (one or several processes), errors.hpp (exit codes).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "errors.hpp"
#include "launcher.hpp"
#include "options.hpp"
#include "out_dir.hpp"
#include "outputs.hpp"
#include "processes.hpp"
#include "tapegrad/io/errors.hpp"
#include "tapegrad/io/files.hpp"
#include "tapegrad/svd/partition.hpp"
#include "tapegrad/svd/solver.hpp"

#if defined(TAPEGRAD_HAVE_MPI)
#include "tapegrad/mpi/svd.hpp"
#endif

namespace {

namespace fs = std::filesystem;
using namespace tapegrad;
using namespace tapegrad::svd;
using namespace tapegrad::svd::tool;

/// What the command line asks for, with the matrix (or this process's rows of it) read.
struct Job {
  Cli cli;
  SvdOptions options;
  io::MatrixShape shape;  ///< the whole matrix's
  Matrix<double> rows;  ///< rows [row_begin, row_begin + rows.rows()) of the matrix: all of it on one process
  Index row_begin = 0;
  std::string name;  ///< the matrix as named on the command line (just its file name when the path is long)
  std::shared_ptr<OutDir> out;  ///< --out, checked and locked (process 0)
};

/// Parses the command line and reads the matrix; no collective operation inside. Returns an exit code when
/// the run ends here (--help), nullopt to go on.
std::optional<int> prepare(int argc, char** argv, const Processes& procs, Job& job) {
  CLI::App app{"tapegrad-svd: the singular value decomposition of a matrix file, by gradient descent",
               "tapegrad-svd"};
  Cli& c = job.cli;
  add_options(app, c);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    if (procs.root()) std::cout << app.help();
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    throw UsageError{std::string(e.what()) + "\nRun 'tapegrad-svd --help' for the options."};
  }
  check_values_given(app);

  SvdOptions& options = job.options;
  options = to_options(c);
  set_threads(c);
  const MemoryLimit memory = memory_limit(c);
  if (procs.several()) {
    if (c.matrix == "-")
      throw UsageError{
          "MATRIX: with several processes the matrix is read from a file, not from stdin (each "
          "process reads its own rows); save it to a file first"};
    if (!c.graph.empty() || !c.graph_optimized.empty())
      throw UsageError{std::string(c.graph.empty() ? "--graph-optimized" : "--graph") +
                       ": the loss graph is written by a single process; run tapegrad-svd without mpirun"};
  }
  check_paths(c);
  if (!c.out_dir.empty() && procs.root()) job.out = std::make_shared<OutDir>(c.out_dir);

  if (!procs.several()) {
    job.rows = io::read_matrix(c.matrix);
    job.shape = {job.rows.rows(), job.rows.cols()};
  } else {
#if defined(TAPEGRAD_HAVE_MPI)
    job.shape = io::read_matrix_shape(c.matrix);
    const RowBlock block = row_block(job.shape.rows, procs.rank(), procs.size());
    job.rows = io::read_matrix_rows(c.matrix, block.begin, block.count);
    job.row_begin = block.begin;
#endif
  }
  // The rank against the matrix, and (one process) the run's memory against the limit: the matrix is
  // in memory already, so the run may use what is left of the limit.
  if (!procs.several()) {
    const std::uint64_t matrix = static_cast<std::uint64_t>(job.rows.size()) * sizeof(double);
    options.memory_limit = memory.bytes > matrix ? memory.bytes - matrix : 0;
  }
  try {
    check_options(options, job.shape.rows, job.shape.cols);
  } catch (const SvdOptionError& e) {
    if (e.field() != "memory_limit") throw;
    throw UsageError{"--max-memory: " + e.detail() + " (" + memory.source + ", " +
                     bytes_text(static_cast<double>(memory.bytes)) + ", less the matrix's own " +
                     bytes_text(static_cast<double>(job.rows.size()) * sizeof(double)) +
                     "). Ask for fewer singular values (--rank) or set --max-memory"};
  }
  if (!c.init_dir.empty()) options.init = read_init(c.init_dir, job.shape);
  options.record_loss = !c.out_dir.empty();

  job.name = c.matrix == "-"         ? "<stdin>"
             : c.matrix.size() <= 40 ? c.matrix
                                     : fs::path(c.matrix).filename().string();
  const bool f32 = options.dtype ? *options.dtype == Dtype::Float32 : options.recipe == Recipe::Seed;
  const std::string label = c.matrix == "-" ? "<stdin>" : fs::path(c.matrix).filename().string();
  for (bool as_run : {false, true}) {
    const std::string& file = as_run ? c.graph_optimized : c.graph;
    if (file.empty()) continue;
    write_graph(file, loss_graph_dot(job.rows, options, label, as_run, f32));
  }
  if (c.profile && procs.root()) {
    (c.json ? std::cerr : std::cout) << loss_profile_table(job.rows, options, label, f32) << std::flush;
  }
  return std::nullopt;
}

/// Solves the job: on one process, or with the others (collective). Shows progress on process 0's terminal.
SvdResult solve_job(Job& job, const Processes& procs) {
  const bool show_progress = procs.root() && !job.cli.quiet && ::isatty(STDERR_FILENO) == 1;
  bool progress_shown = false;
  const auto start = std::chrono::steady_clock::now();
  if (show_progress) {
    job.options.progress_every = 200;
    job.options.progress = [&](const Progress& p) {
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const double rate = elapsed > 0 ? static_cast<double>(p.iteration) / elapsed : 0;
      const double eta = rate > 0 ? static_cast<double>(p.max_iterations - p.iteration) / rate : -1;
      std::fprintf(stderr, "\r\033[Kiteration %ld/%ld  loss %.4g  %.0f it/s  ETA %s", p.iteration,
                   p.max_iterations, p.loss, rate, duration(eta).c_str());
      std::fflush(stderr);
      progress_shown = true;
    };
  }
  struct ClearLine {  // the progress line and its callback go, however solve ends
    const bool& shown;
    SvdOptions& options;
    ~ClearLine() {
      if (shown) std::fputs("\r\033[K", stderr);
      options.progress = nullptr;
    }
  } clear{progress_shown, job.options};
#if defined(TAPEGRAD_HAVE_MPI)
  if (procs.several())
    return solve_distributed(procs.context(), job.rows, job.row_begin, job.shape.rows, job.options);
#endif
  return solve(job.rows, job.options);
}

/// The exit code of a finished solve (the same on every process: the solve is collective).
int exit_code(Status status) {
  switch (status) {
    case Status::Converged:
      return kExitOk;
    case Status::Completed:
    case Status::NotConverged:
      return kExitNotConverged;
    case Status::Diverged:
      return kExitDiverged;
  }
  return kExitInternal;
}

/// Process 0's part of the end: the outputs, the summary or the JSON, and what went wrong, if anything.
void report(const Job& job, const SvdResult& r) {
  const Cli& c = job.cli;
  if (!c.out_dir.empty()) {
    const std::string method = r.method.empty() ? std::string(to_string(r.optimizer)) : r.method;
    write_outputs(*job.out, r,
                  job.name + ", " + to_string(r.recipe) + ", " + method + ", " + to_string(r.dtype));
  }
  errno = 0;
  if (c.json)
    std::cout << to_json(r, job.shape).dump() << std::endl;
  else
    print_summary(r, job.shape, job.name);
  // A full disk or a closed pipe on stdout is an error, not a lost result (`> /dev/full`).
  if (std::fflush(stdout) != 0 || std::ferror(stdout) != 0 || !std::cout)
    throw io::IoError(std::string("stdout: write failed: ") +
                      (errno ? std::strerror(errno) : "stream error"));

  // The solver's message says why and what to try; it goes to stderr, next to the summary or the JSON.
  if (r.status == Status::NotConverged || r.status == Status::Completed)
    std::fprintf(stderr, "tapegrad-svd: %s\n",
                 r.message.empty() ? ("not converged within " + std::to_string(r.iterations) +
                                      " iterations: raise --iters or loosen --tol")
                                         .c_str()
                                   : r.message.c_str());
  if (r.status == Status::Diverged)
    std::fprintf(stderr, "tapegrad-svd: %s\n",
                 r.message.empty() ? "diverged: the loss became non-finite or exploded; try a smaller --lr"
                                   : r.message.c_str());
}

/// Reading ends with every process agreeing on whether to go on (Processes::settle). The solve and the
/// gathering of U are collective: a failure there that is not the same on every process ends them all
/// (fail_alone).
int run(int argc, char** argv, const Processes& procs) {
  Job job;
  std::optional<Failure> failed;
  std::optional<int> done;
  try {
    done = prepare(argc, argv, procs, job);
  } catch (...) {
    failed = current_failure();
  }
  if (const int code = procs.settle(failed)) return code;
  if (done) return *done;

  SvdResult r;
  try {
    r = solve_job(job, procs);
    // U is only written (--out): gathered then, and only then (every process sees the same options).
    if (!job.cli.out_dir.empty()) r.U = procs.gather_rows(r.U);
  } catch (const SvdOptionError&) {
    // Thrown by every process alike, after solve_distributed's own agreement on the inputs.
    failed = current_failure();
  } catch (...) {
    return procs.fail_alone(current_failure());
  }
  if (const int code = procs.settle(failed)) return code;

  try {
    if (procs.root()) report(job, r);
  } catch (...) {
    failed = current_failure();
  }
  if (const int code = procs.settle(failed)) return code;
  return exit_code(r.status);
}
}  // namespace

int main(int argc, char** argv) {
  try {
    const Processes procs(&argc, &argv);
    return run(argc, argv, procs);
  } catch (...) {
    // Before or outside the agreed steps (starting MPI, or a tapegrad-svd built without MPI under mpirun):
    // one message, from the first process.
    const Failure f = current_failure();
    if (launched_rank() == 0) std::fprintf(stderr, "tapegrad-svd: %s\n", f.message.c_str());
    return f.code;
  }
}
