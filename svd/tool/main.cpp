// tapegrad-svd: the SVD of a matrix file by gradient descent, from the command line. Run with --help.
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <Eigen/Core>
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <new>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "tapegrad/autodiff/graphviz.hpp"
#include "tapegrad/autodiff/profiler.hpp"
#include "tapegrad/io/files.hpp"
#include "tapegrad/io/write.hpp"
#include "tapegrad/svd/loss.hpp"
#include "tapegrad/svd/plot.hpp"
#include "tapegrad/svd/solver.hpp"

#include "tapegrad/autodiff/collective.hpp"  // launched_with_several_processes works without MPI too
#if defined(TAPEGRAD_HAVE_MPI)
#include "tapegrad/svd/distributed.hpp"
#endif

#if defined(TAPEGRAD_HAVE_BLAS) && defined(__GNUC__)
// OpenBLAS's own thread control. Weak, so that the tool still links and runs with a BLAS that lacks it.
extern "C" void openblas_set_num_threads(int) __attribute__((weak));
#endif

namespace {

namespace fs = std::filesystem;
using namespace tapegrad;
using namespace tapegrad::svd;

constexpr int kExitOk = 0, kExitNotConverged = 1, kExitUsage = 2, kExitDiverged = 3, kExitInternal = 4;

/// Bad usage or bad input: exit code 2, the message names the option or the file.
struct UsageError {
  std::string message;
};

// ---- option values

std::string lower(std::string s) {
  for (char& c : s) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return s;
}

double parse_real(const std::string& option, const std::string& text) {
  double v = 0;
  const char* b = text.data();
  const char* e = b + text.size();
  if (b < e && *b == '+') ++b;
  const auto r = std::from_chars(b, e, v);
  if (r.ec == std::errc::result_out_of_range) throw UsageError{option + ": '" + text + "' is out of range"};
  if (r.ec != std::errc() || r.ptr != e || b == e)
    throw UsageError{option + ": expected a number, got '" + text + "'"};
  if (!std::isfinite(v)) throw UsageError{option + ": expected a finite number, got '" + text + "'"};
  return v;
}

/// A whole number; "2e4" is accepted when it is one.
std::int64_t parse_whole(const std::string& option, const std::string& text) {
  std::int64_t v = 0;
  const char* b = text.data();
  const char* e = b + text.size();
  if (b < e && *b == '+') ++b;
  const auto r = std::from_chars(b, e, v);
  if (r.ec == std::errc() && r.ptr == e && b != e) return v;
  double d = 0;
  const auto rd = std::from_chars(b, e, d);
  if (rd.ec == std::errc() && rd.ptr == e && b != e && std::isfinite(d) && d == std::floor(d) &&
      std::abs(d) < 9e18)
    return static_cast<std::int64_t>(d);
  throw UsageError{option + ": expected a whole number, got '" + text + "'"};
}

// ---- the options

struct Cli {
  std::string matrix;
  std::string recipe = "auto", optimizer, dtype;
  std::string lr, momentum, dampening, weight_decay, beta1, beta2, eps, iters, tol, rank, seed, threads;
  bool nesterov = false, amsgrad = false, json = false, quiet = false;
  std::string init_dir, out_dir;
  std::string graph;            ///< --graph FILE: the loss graph as Graphviz DOT, as written
  std::string graph_optimized;  ///< --graph-optimized FILE: the loss graph as it runs (after the rewrites)
  bool profile = false;         ///< --profile: print the per-op profile of the loss graph as it runs
};

const char* kFooter = R"(MATRIX
  A .csv file (numbers separated by commas or by spaces/tabs; '#' comments, blank lines, CRLF and a UTF-8 BOM
  are fine), a Matrix Market .mtx file (array or coordinate; real or integer; general, symmetric or
  skew-symmetric), a NumPy .npy file (float32 or float64, C or Fortran order, 1-D read as one row), or - for
  CSV on stdin. NaN and infinite values are refused.

RECIPES
  auto  what you expect of an SVD: any shape, top-k with --rank, stops on --tol, float64, singular values
        sorted descending, singular vector pairs sign-normalised.
  seed  the blog notebooks exactly: SGD lr 0.9 momentum 0.9 (or Adam with weight decay 1e-5), 20000
        iterations, float32, random start or --init-dir. Needs rows >= columns.

OUTPUTS (--out DIR, replaced as a whole: written into a temporary directory beside it, then one rename;
  a second run into the same DIR is refused while one writes; DIR may hold only these files)
  U.csv                m x k left singular vectors
  singular_values.csv  one row, descending
  V.csv                n x k right singular vectors
  loss.csv             header iteration,loss; one row per iteration from 0
  convergence.svg      the loss against the iteration, log scale

--json prints one object on stdout with the keys singular_values, iterations, converged, final_loss, seconds
(the solver's own time), reconstruction_error (|M - U S V^T|_F / |M|_F), orthogonality_error (the larger of
max|U^T U - I| and max|V^T V - I|), error_bound (a bound on max|sigma - exact sigma| / sigma_max, from the
residuals |M v - sigma u|, |M^T u - sigma v| and the gaps), recipe, optimizer (the method used), dtype, shape
([m, n]) and rank.
Non-finite numbers appear as null.

SEVERAL PROCESSES
  mpirun -np P tapegrad-svd [options] MATRIX  splits the matrix's rows over P processes (each reads only its
  rows; use .npy for large matrices) and gives the same result; process 0 prints and writes --out.
  Not with stdin or --graph. See docs/scale-out.md.

EXIT CODES
  0  converged: the accuracy test holds (float64: every singular value within 1e-10 sigma_max, factors
     orthonormal to 1e-10; float32: 1e-5; see "error_bound" and docs/svd-auto.md)
  1  not converged: the test fails within --iters (auto) or after the fixed count (seed); results are
     still written, with "converged": false
  2  bad usage or bad input: the message names the option, or the file as FILE:LINE:COL; or the results
     cannot be written (a write error on stdout or in --out, e.g. a full disk)
  3  diverged (non-finite or exploding loss): the message says what to try, e.g. a smaller --lr
  4  internal error (a bug; please report it)
)";

void add_options(CLI::App& app, Cli& c) {
  app.add_option("MATRIX", c.matrix, "Matrix file (.csv, .mtx, .npy) or - for CSV on stdin")
      ->required()
      ->type_name("FILE");
  app.add_option("--recipe", c.recipe,
                 "seed|auto: the notebooks' recipe or the robust default (default: auto)")
      ->type_name("NAME");
  app.add_option("--optimizer", c.optimizer, "sgd|adam|adamw (default: the recipe's choice; seed: sgd)")
      ->type_name("NAME");
  app.add_option("--lr", c.lr, "Learning rate, > 0 (default: the recipe's; seed: sgd 0.9, adam 1e-3)")
      ->type_name("X");
  app.add_option("--momentum", c.momentum, "SGD momentum, >= 0 (seed default 0.9)")->type_name("X");
  app.add_option("--dampening", c.dampening, "SGD dampening, >= 0 (default 0)")->type_name("X");
  app.add_flag("--nesterov", c.nesterov, "SGD with Nesterov momentum");
  app.add_option("--weight-decay", c.weight_decay, "Weight decay, >= 0 (seed adam default 1e-5)")
      ->type_name("X");
  app.add_option("--beta1", c.beta1, "Adam beta1, in [0, 1) (default 0.9)")->type_name("X");
  app.add_option("--beta2", c.beta2, "Adam beta2, in [0, 1) (default 0.999)")->type_name("X");
  app.add_option("--eps", c.eps, "Adam epsilon, >= 0 (default 1e-8)")->type_name("X");
  app.add_flag("--amsgrad", c.amsgrad, "Adam with AMSGrad");
  app.add_option("--iters", c.iters, "Iterations: the seed recipe's count (default 20000), auto's maximum")
      ->type_name("N");
  app.add_option("--tol", c.tol,
                 "Bound on error_bound for converged, > 0 (default: 5e-11 float64, 5e-6 float32)")
      ->type_name("X");
  app.add_option("--rank", c.rank, "Number of singular triplets k, 1 <= k <= min(m, n) (default: min(m, n))")
      ->type_name("K");
  app.add_option("--dtype", c.dtype, "float32|float64 (default: seed float32, auto float64)")
      ->type_name("NAME");
  app.add_option("--seed", c.seed, "Random seed of the initial values, >= 0 (default 314)")->type_name("N");
  app.add_option("--threads", c.threads, "Threads for matrix products (OpenBLAS, Eigen), >= 1 (default 1)")
      ->type_name("N");
  app.add_option("--init-dir", c.init_dir, "Seed recipe: start from U0.csv, diag_sqrt0.csv, V0.csv in DIR")
      ->type_name("DIR");
  app.add_option("--out", c.out_dir,
                 "Write U.csv, singular_values.csv, V.csv, loss.csv, convergence.svg to DIR")
      ->type_name("DIR");
  app.add_option("--graph", c.graph,
                 "Write the recipe's loss graph for the matrix's shape as Graphviz DOT to FILE (dot -Tsvg), "
                 "as the formula is written")
      ->type_name("FILE");
  app.add_option("--graph-optimized", c.graph_optimized,
                 "Write the same graph as it runs, after the graph optimizer's rewrites: each fused node "
                 "names the pattern it replaced")
      ->type_name("FILE");
  app.add_flag("--profile", c.profile,
               "Before solving, time 20 steps (forward and backward) of the loss graph as it runs for the "
               "matrix and print the per-op table (on stderr with --json)");
  app.add_flag("--json", c.json, "Print the result as one JSON object on stdout");
  app.add_flag("--quiet", c.quiet, "No progress line on stderr");
  app.footer(kFooter);
  app.get_formatter()->column_width(26);
}

/// SvdOptions from the command line (everything that does not need the matrix).
SvdOptions to_options(const Cli& c, std::optional<std::int64_t>& rank) {
  SvdOptions o;
  const std::string recipe = lower(c.recipe);
  if (recipe == "seed")
    o.recipe = Recipe::Seed;
  else if (recipe == "auto")
    o.recipe = Recipe::Auto;
  else
    throw UsageError{"--recipe: unknown recipe '" + c.recipe + "' (choose seed or auto)"};
  if (!c.optimizer.empty()) {
    const std::string opt = lower(c.optimizer);
    if (opt == "sgd")
      o.optimizer = OptimizerKind::Sgd;
    else if (opt == "adam")
      o.optimizer = OptimizerKind::Adam;
    else if (opt == "adamw")
      o.optimizer = OptimizerKind::AdamW;
    else
      throw UsageError{"--optimizer: unknown optimizer '" + c.optimizer + "' (choose sgd, adam or adamw)"};
  }
  if (!c.dtype.empty()) {
    const std::string d = lower(c.dtype);
    if (d == "float32" || d == "f32")
      o.dtype = Dtype::Float32;
    else if (d == "float64" || d == "f64")
      o.dtype = Dtype::Float64;
    else
      throw UsageError{"--dtype: unknown dtype '" + c.dtype + "' (choose float32 or float64)"};
  }
  auto real = [](const char* name, const std::string& text, auto ok,
                 const char* rule) -> std::optional<double> {
    if (text.empty()) return std::nullopt;
    const double v = parse_real(name, text);
    if (!ok(v)) throw UsageError{std::string(name) + ": must be " + rule + ", got " + text};
    return v;
  };
  auto positive = [](double v) { return v > 0; };
  auto non_negative = [](double v) { return v >= 0; };
  auto unit = [](double v) { return v >= 0 && v < 1; };
  o.lr = real("--lr", c.lr, positive, "greater than 0");
  o.momentum = real("--momentum", c.momentum, non_negative, ">= 0");
  o.dampening = real("--dampening", c.dampening, non_negative, ">= 0");
  o.weight_decay = real("--weight-decay", c.weight_decay, non_negative, ">= 0");
  o.beta1 = real("--beta1", c.beta1, unit, "in [0, 1)");
  o.beta2 = real("--beta2", c.beta2, unit, "in [0, 1)");
  o.eps = real("--eps", c.eps, non_negative, ">= 0");
  o.tolerance = real("--tol", c.tol, positive, "greater than 0");
  o.nesterov = c.nesterov;
  o.amsgrad = c.amsgrad;
  if (!c.iters.empty()) {
    const auto n = parse_whole("--iters", c.iters);
    if (n < 1) throw UsageError{"--iters: must be at least 1, got " + c.iters};
    // The loss history (kept for --out) holds one double per iteration: a bound, not an allocation failure.
    if (n > 1'000'000'000)
      throw UsageError{
          "--iters: at most 1000000000 (the limit: the loss history keeps 8 bytes per iteration), got " +
          c.iters};
    o.iterations = static_cast<long>(n);
  }
  if (!c.rank.empty()) {
    const auto k = parse_whole("--rank", c.rank);
    if (k < 1) throw UsageError{"--rank: must be at least 1, got " + c.rank};
    rank = k;
  }
  if (!c.seed.empty()) {
    std::uint64_t s = 0;
    const char* b = c.seed.data();
    const char* e = b + c.seed.size();
    const auto r = std::from_chars(b, e, s);
    if (r.ec != std::errc() || r.ptr != e || b == e)
      throw UsageError{"--seed: expected a whole number from 0 to 2^64-1, got '" + c.seed + "'"};
    o.seed = s;
  }
  if (!c.init_dir.empty() && o.recipe != Recipe::Seed)
    throw UsageError{"--init-dir: initial values are for the seed recipe only; add --recipe seed"};
  return o;
}

void set_threads(const Cli& c) {
  // One thread unless told: the solver's products are small or medium-sized, where a second BLAS
  // thread costs more than it gives, and runs are then comparable (bench/RESULTS.md).
  auto n = c.threads.empty() ? std::int64_t{1} : parse_whole("--threads", c.threads);
  if (n < 1 || n > 1024) throw UsageError{"--threads: must be from 1 to 1024, got " + c.threads};
  // More threads than cores only costs (and each OpenBLAS worker reserves memory): capped, with a note.
  const long cores = std::max(1L, static_cast<long>(std::thread::hardware_concurrency()));
  if (n > cores) {
    std::fprintf(stderr,
                 "tapegrad-svd: --threads %ld is more than the %ld cores of this machine; using %ld\n",
                 static_cast<long>(n), cores, cores);
    n = cores;
  }
  Eigen::setNbThreads(static_cast<int>(n));
#if defined(TAPEGRAD_HAVE_BLAS) && defined(__GNUC__)
  if (openblas_set_num_threads != nullptr) openblas_set_num_threads(static_cast<int>(n));
#endif
}

// ---- --out as one unit (issue 16): a run's results are all from that run, or not there at all.
//
// DIR's parent holds three hidden names beside it: .DIR.lock (held with fcntl for the whole run: a second
// writer is refused), .DIR.tmp-XXXXXX (the new results, written there first) and, for a moment, the old
// results after the exchange. The new directory replaces DIR in one rename (renameat2 RENAME_EXCHANGE, or two
// renames where the file system lacks it); the old one is removed after. SIGINT, SIGTERM and SIGHUP are
// deferred while temporaries exist and delivered once they are gone, so an interrupted run leaves the
// previous results or the new ones, never a mix and never a temporary. A stale temporary (a SIGKILLed run) is
// removed by the next run into DIR, under the lock.

const char* const kResultFiles[] = {"U.csv", "singular_values.csv", "V.csv", "loss.csv", "convergence.svg"};

volatile sig_atomic_t g_defer_signals = 0, g_pending_signal = 0;

extern "C" void on_deferrable_signal(int sig) {
  if (g_defer_signals != 0) {  // temporaries exist: remember it, the writer delivers it when they are gone
    g_pending_signal = sig;
    return;
  }
  ::signal(sig, SIG_DFL);  // otherwise its usual effect, at once (async-signal-safe calls only)
  ::raise(sig);
}

/// Defers SIGINT, SIGTERM and SIGHUP while it lives: the handler (whichever thread, e.g. a BLAS worker, gets
/// the signal) only records it; it is delivered with its usual effect (the run ends) at the end, after the
/// temporaries were removed or renamed into place.
class DeferSignals {
 public:
  DeferSignals() {
    struct sigaction sa {};
    sa.sa_handler = on_deferrable_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
    g_defer_signals = 1;
  }
  ~DeferSignals() {
    g_defer_signals = 0;
    if (const int sig = g_pending_signal; sig != 0) {
      std::fflush(stdout);
      ::signal(sig, SIG_DFL);
      ::raise(sig);
    }
  }
  DeferSignals(const DeferSignals&) = delete;
  DeferSignals& operator=(const DeferSignals&) = delete;
};

/// TAPEGRAD_SVD_FAULT (tests only): "fail:FILE" makes writing FILE of --out fail like a full disk;
/// "signal:FILE" sends this process SIGTERM just after FILE was written into the temporary directory.
void fault_hook(const char* file, bool before) {
  const char* f = std::getenv("TAPEGRAD_SVD_FAULT");
  if (f == nullptr) return;
  const std::string fault(f);
  if (before && fault == std::string("fail:") + file) {
    errno = ENOSPC;
    throw io::IoError(std::string(file) + ": write failed: " + std::strerror(ENOSPC) +
                      " (TAPEGRAD_SVD_FAULT)");
  }
  if (!before && fault == std::string("signal:") + file) ::kill(::getpid(), SIGTERM);
}

/// The --out directory of a run: checked and locked before the solve, replaced as one unit after it.
class OutDir {
 public:
  explicit OutDir(const std::string& dir) : dir_(fs::path(dir).lexically_normal()) {
    if (dir.empty()) throw UsageError{"--out: the directory name is empty"};
    if (dir_.filename().empty()) dir_ = dir_.parent_path();  // "d/" -> "d"
    if (dir_.filename().empty() || dir_.filename() == "." || dir_.filename() == "..")
      throw UsageError{"--out: '" + dir +
                       "' names no directory of its own; give a directory name, e.g. results"};
    parent_ = dir_.parent_path().empty() ? fs::path(".") : dir_.parent_path();
    std::error_code ec;
    fs::create_directories(parent_, ec);
    if (ec) throw UsageError{"--out: cannot create '" + parent_.string() + "': " + ec.message()};
    if (::access(parent_.c_str(), W_OK | X_OK) != 0)
      throw UsageError{"--out: cannot write to '" + parent_.string() + "': " + std::strerror(errno)};
    const std::string base = dir_.filename().string();
    lock_path_ = (parent_ / ("." + base + ".lock")).string();
    lock_fd_ = ::open(lock_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (lock_fd_ < 0)
      throw UsageError{"--out: cannot open the lock " + lock_path_ + ": " + std::strerror(errno)};
    struct flock l {};
    l.l_type = F_WRLCK;
    l.l_whence = SEEK_SET;
    if (::fcntl(lock_fd_, F_SETLK, &l) != 0) {
      const int e = errno;
      ::close(lock_fd_);
      lock_fd_ = -1;
      if (e == EACCES || e == EAGAIN)
        throw UsageError{"--out: another tapegrad-svd is writing to '" + dir_.string() + "' (it holds " +
                         lock_path_ + "); wait for it to finish or choose another --out"};
      throw UsageError{"--out: cannot lock " + lock_path_ + ": " + std::strerror(e)};
    }
    check_existing();
    // Temporaries of a run that was killed (SIGKILL, power loss): ours to remove, under the lock.
    for (const auto& e : fs::directory_iterator(parent_, ec)) {
      const std::string name = e.path().filename().string();
      if (name.rfind("." + base + ".tmp-", 0) == 0 && name.size() == base.size() + 12)
        fs::remove_all(e.path(), ec);
    }
  }
  ~OutDir() {
    if (lock_fd_ >= 0) ::close(lock_fd_);
  }
  OutDir(const OutDir&) = delete;
  OutDir& operator=(const OutDir&) = delete;

  const fs::path& path() const { return dir_; }

  /// Writes the results into a new temporary directory (fill(tmp) writes the files), then puts it in
  /// DIR's place in one rename and removes the previous results. On any failure the previous results are
  /// untouched and nothing temporary is left; throws IoError.
  template <class Fill>
  void replace_with(Fill fill) {
    check_existing();  // again: it may have changed during the solve
    const DeferSignals defer;
    std::string tmp = (parent_ / ("." + dir_.filename().string() + ".tmp-XXXXXX")).string();
    if (::mkdtemp(tmp.data()) == nullptr)
      throw io::IoError("--out: cannot create a temporary directory in " + parent_.string() + ": " +
                        std::strerror(errno));
    std::error_code ec;
    try {
      fill(fs::path(tmp));
      if (::chmod(tmp.c_str(), 0755) != 0) throw io::IoError(tmp + ": chmod failed: " + std::strerror(errno));
      if (fs::exists(fs::symlink_status(dir_))) {
        if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, dir_.c_str(), RENAME_EXCHANGE) != 0) {
          if (errno != EINVAL && errno != ENOSYS)
            throw io::IoError(dir_.string() + ": cannot replace it: " + std::strerror(errno));
          // No exchange on this file system: the old results aside, then the new ones in place.
          std::string old = (parent_ / ("." + dir_.filename().string() + ".tmp-XXXXXX")).string();
          if (::mkdtemp(old.data()) == nullptr || ::rename(dir_.c_str(), old.c_str()) != 0)
            throw io::IoError(dir_.string() +
                              ": cannot move the previous results aside: " + std::strerror(errno));
          if (::rename(tmp.c_str(), dir_.c_str()) != 0) {
            const int e = errno;
            ::rename(old.c_str(), dir_.c_str());
            throw io::IoError(dir_.string() +
                              ": cannot rename the new results into place: " + std::strerror(e));
          }
          tmp = old;
        }
        fs::remove_all(tmp, ec);  // the previous results, now at the temporary name
      } else if (::rename(tmp.c_str(), dir_.c_str()) != 0) {
        throw io::IoError(dir_.string() +
                          ": cannot rename the new results into place: " + std::strerror(errno));
      }
    } catch (...) {
      fs::remove_all(tmp, ec);
      throw;
    }
  }

 private:
  /// DIR may be new, or a real directory (not a symlink) holding only tapegrad-svd's result files: replacing
  /// it must never delete anything else.
  void check_existing() const {
    std::error_code ec;
    const auto st = fs::symlink_status(dir_, ec);
    if (!fs::exists(st)) return;
    if (fs::is_symlink(st))
      throw UsageError{"--out: '" + dir_.string() + "' is a symbolic link; give the real directory"};
    if (!fs::is_directory(st)) throw UsageError{"--out: '" + dir_.string() + "' is not a directory"};
    for (const auto& e : fs::directory_iterator(dir_, ec)) {
      const std::string name = e.path().filename().string();
      bool ours = false;
      for (const char* f : kResultFiles) ours = ours || name == f;
      if (!ours)
        throw UsageError{
            "--out: '" + dir_.string() + "' holds '" + name +
            "', which is not a tapegrad-svd result; the whole directory is replaced, so give a new "
            "or empty directory, or one from an earlier run"};
    }
    if (ec) throw UsageError{"--out: cannot read '" + dir_.string() + "': " + ec.message()};
  }

  fs::path dir_, parent_;
  std::string lock_path_;
  int lock_fd_ = -1;
};

/// Checks that the --graph files, --out and the input are different things, and that each --graph FILE
/// is "-" (stdout), new, or a regular file (never a device, a symlink or a directory).
void check_paths(const Cli& c) {
  auto same = [](const std::string& a, const std::string& b) {
    if (a.empty() || b.empty() || a == "-" || b == "-") return false;
    std::error_code ec;
    if (fs::equivalent(a, b, ec)) return true;
    return fs::weakly_canonical(a, ec) == fs::weakly_canonical(b, ec);
  };
  auto inside = [](const std::string& file, const std::string& dir) {
    if (file.empty() || dir.empty() || file == "-") return false;
    std::error_code ec;
    const fs::path f = fs::weakly_canonical(file, ec), d = fs::weakly_canonical(dir, ec);
    auto fi = f.begin();
    for (auto di = d.begin(); di != d.end(); ++di, ++fi)
      if (fi == f.end() || *fi != *di) return false;
    return true;
  };
  for (const auto& [opt, file] :
       {std::pair{"--graph", c.graph}, std::pair{"--graph-optimized", c.graph_optimized}}) {
    if (file.empty() || file == "-") continue;
    if (same(file, c.matrix)) throw UsageError{std::string(opt) + ": '" + file + "' is the input matrix"};
    if (inside(file, c.out_dir))
      throw UsageError{std::string(opt) + ": '" + file + "' is inside --out '" + c.out_dir +
                       "', which is replaced"};
    std::error_code ec;
    const auto st = fs::symlink_status(file, ec);
    if (fs::exists(st) && !fs::is_regular_file(st))
      throw UsageError{std::string(opt) + ": '" + file + "' exists and is not a regular file (" +
                       (fs::is_symlink(st)     ? "a symbolic link"
                        : fs::is_directory(st) ? "a directory"
                                               : "a device or special file") +
                       "); only regular files are replaced (or - for stdout)"};
  }
  if (same(c.graph, c.graph_optimized))
    throw UsageError{"--graph and --graph-optimized: both name '" + c.graph + "'"};
  if (!c.out_dir.empty() && c.matrix != "-" && (same(c.matrix, c.out_dir) || inside(c.matrix, c.out_dir)))
    throw UsageError{"--out: '" + c.out_dir + "' holds the input matrix " + c.matrix +
                     ", and it is replaced"};
}

std::string shape_of(const Matrix<double>& m) { return shape_string(m.rows(), m.cols()); }
std::string shape_of(const io::MatrixShape& m) { return shape_string(m.rows, m.cols); }

SeedInit read_init(const std::string& dir, const io::MatrixShape& m) {
  const Index n = m.cols;
  auto path = [&](const char* f) { return (fs::path(dir) / f).string(); };
  SeedInit init;
  init.U = io::read_matrix(path("U0.csv"));
  init.diag_sqrt = io::read_matrix(path("diag_sqrt0.csv"));
  init.V = io::read_matrix(path("V0.csv"));
  if (init.U.rows() != m.rows || init.U.cols() != n)
    throw UsageError{"--init-dir: " + path("U0.csv") + " is " + shape_of(init.U) + ", but the matrix is " +
                     shape_of(m) + ", so U0 must be " + shape_string(m.rows, n)};
  if (init.diag_sqrt.size() != n || (init.diag_sqrt.rows() != 1 && init.diag_sqrt.cols() != 1))
    throw UsageError{"--init-dir: " + path("diag_sqrt0.csv") + " is " + shape_of(init.diag_sqrt) +
                     ", but the matrix has " + std::to_string(n) + " columns, so diag_sqrt0 must be 1x" +
                     std::to_string(n)};
  if (init.V.rows() != n || init.V.cols() != n)
    throw UsageError{"--init-dir: " + path("V0.csv") + " is " + shape_of(init.V) + ", but the matrix is " +
                     shape_of(m) + ", so V0 must be " + shape_string(n, n)};
  return init;
}

// ---- outputs

/// The loss graph the recipe minimises, recorded for m's shape in dtype T, as Graphviz DOT (see
/// tapegrad/autodiff/graphviz.hpp). Seed: U m×n, diag_sqrt 1×n, V n×n, at --init-dir's values when given
/// (the 1×1 nodes then show the initial loss terms). Auto: U m×k, s 1×k, V n×k, values not shown.
template <class T>
std::string loss_graph_dot(const Matrix<double>& m, const SvdOptions& o, const std::string& name,
                           bool as_run) {
  const Index rows = m.rows(), n = m.cols();
  const bool seed = o.recipe == Recipe::Seed;
  const Index k = seed ? n : o.rank.value_or(std::min(rows, n));
  Parameter<T> u(Matrix<T>::Zero(rows, k), "U"), s(Matrix<T>::Zero(1, k), seed ? "diag_sqrt" : "s"),
      v(Matrix<T>::Zero(n, k), "V");
  if (seed && o.init) {
    u.value = o.init->U.cast<T>();
    s.value = o.init->diag_sqrt.cast<T>().reshaped(1, n);
    v.value = o.init->V.cast<T>();
  }
  Tape<T> tape;
  const Matrix<T> mt = m.cast<T>();
  const Var<T> loss = seed ? seed_loss(tape, u, s, v, mt) : auto_loss(tape, u, s, v, mt, T(1));
  DotOptions dot;
  dot.title = name + ": " + to_string(o.recipe) + " loss, " + shape_string(rows, n) + ", " +
              (std::is_same_v<T, float> ? "float32" : "float64");
  dot.scalar_values = seed && o.init.has_value();
  dot.as_run = as_run;
  if (as_run) dot.title += ", as it runs";
  if (dot.scalar_values) tape.evaluate();
  return to_dot(tape, loss, dot);
}

/// The per-op profile (tapegrad/autodiff/profiler.hpp) of kSteps replays of the recipe's loss graph, as it
/// runs for m's shape in dtype T (at random parameter values), as a table.
template <class T>
std::string loss_profile_table(const Matrix<double>& m, const SvdOptions& o, const std::string& name) {
  constexpr int kSteps = 20;
  const Index rows = m.rows(), n = m.cols();
  const bool seed = o.recipe == Recipe::Seed;
  const Index k = seed ? n : o.rank.value_or(std::min(rows, n));
  Parameter<T> u(Matrix<T>::Random(rows, k)), s(Matrix<T>::Random(1, k)), v(Matrix<T>::Random(n, k));
  Tape<T> tape;
  const Matrix<T> mt = m.cast<T>();
  const Var<T> loss = seed ? seed_loss(tape, u, s, v, mt) : auto_loss(tape, u, s, v, mt, T(1));
  tape.backward(loss);  // sizes every buffer, outside the profile
  Profiler prof;
  prof.reserve(64 * kSteps);
  tape.set_profiler(&prof);
  for (int i = 0; i < kSteps; ++i) {
    auto step = prof.step();
    tape.forward();
    tape.backward(loss);
  }
  tape.set_profiler(nullptr);
  return name + ": " + to_string(o.recipe) + " loss, " + shape_string(rows, n) + ", " +
         (std::is_same_v<T, float> ? "float32" : "float64") + ", " + std::to_string(kSteps) +
         " steps (forward and backward) of the graph as it runs\n" + prof.table();
}

std::string shortest(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

void write_outputs(OutDir& out, const SvdResult& r, const std::string& trace_name) {
  out.replace_with([&](const fs::path& dir) {
    auto path = [&](const char* f) {
      fault_hook(f, true);
      return (dir / f).string();
    };
    io::write_matrix_csv(path("U.csv"), r.U);
    fault_hook("U.csv", false);
    io::write_matrix_csv(path("singular_values.csv"), r.singular_values.transpose());
    fault_hook("singular_values.csv", false);
    io::write_matrix_csv(path("V.csv"), r.V);
    fault_hook("V.csv", false);
    std::string loss = "iteration,loss\n";
    for (std::size_t i = 0; i < r.loss_history.size(); ++i)
      loss += std::to_string(i) + "," + shortest(r.loss_history[i]) + "\n";
    io::write_file_atomic(path("loss.csv"), loss);
    fault_hook("loss.csv", false);
    write_convergence_svg(path("convergence.svg"), r.loss_history,
                          "How fast does the gradient algorithm converge?", trace_name);
    fault_hook("convergence.svg", false);
  });
}

/// --graph FILE: "-" is stdout; otherwise written atomically, with signals deferred while its temporary
/// exists.
void write_graph(const std::string& file, const std::string& dot) {
  if (file == "-") {
    std::fwrite(dot.data(), 1, dot.size(), stdout);
    return;
  }
  const DeferSignals defer;
  io::write_file_atomic(file, dot);
}

nlohmann::ordered_json to_json(const SvdResult& r, const io::MatrixShape& m) {
  auto number = [](double v) {
    return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json();
  };
  nlohmann::ordered_json sv = nlohmann::ordered_json::array();
  for (Index i = 0; i < r.singular_values.size(); ++i) sv.push_back(number(r.singular_values(i)));
  nlohmann::ordered_json j;
  j["singular_values"] = sv;
  j["iterations"] = r.iterations;
  j["converged"] = r.converged();
  j["final_loss"] = number(r.final_loss);
  j["seconds"] = number(r.seconds);
  j["reconstruction_error"] = number(r.reconstruction_error);
  j["orthogonality_error"] = number(r.orthogonality_error);
  j["error_bound"] = number(r.error_bound);
  j["recipe"] = to_string(r.recipe);
  j["optimizer"] = r.method.empty() ? std::string(to_string(r.optimizer)) : r.method;
  j["dtype"] = to_string(r.dtype);
  j["shape"] = {m.rows, m.cols};
  j["rank"] = r.rank;
  return j;
}

void print_summary(const SvdResult& r, const io::MatrixShape& m, const std::string& name) {
  const std::string method = r.method.empty() ? std::string(to_string(r.optimizer)) : r.method;
  std::printf("%s: %s, recipe %s, %s, %s, rank %ld\n", name.c_str(), shape_of(m).c_str(), to_string(r.recipe),
              method.c_str(), to_string(r.dtype), static_cast<long>(r.rank));
  std::printf("singular values:");
  for (Index i = 0; i < r.singular_values.size(); ++i) std::printf(" %.10g", r.singular_values(i));
  std::printf("\n%s after %ld iterations in %.3g s, final loss %.3g\n", to_string(r.status), r.iterations,
              r.seconds, r.final_loss);
  std::printf("reconstruction error %.3g, orthogonality error %.3g, error bound %.3g\n",
              r.reconstruction_error, r.orthogonality_error, r.error_bound);
  if (!r.message.empty() && r.converged()) std::printf("%s\n", r.message.c_str());
}

std::string duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  char buf[32];
  if (s < 60)
    std::snprintf(buf, sizeof buf, "%.0fs", std::ceil(s));
  else if (s < 3600)
    std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(s / 60), static_cast<int>(s) % 60);
  else
    std::snprintf(buf, sizeof buf, "%dh%02dm", static_cast<int>(s / 3600), static_cast<int>(s / 60) % 60);
  return buf;
}

// ---- failures and processes

/// How a run ends early: its exit code and its message (printed as "tapegrad-svd: <message>").
struct Failure {
  int code = kExitInternal;
  std::string message;
};

/// The Failure for the exception being handled (call it in a catch block).
Failure current_failure() {
  try {
    throw;
  } catch (const UsageError& e) {
    return {kExitUsage, e.message};
  } catch (const io::ParseError& e) {
    return {kExitUsage, e.what()};
  } catch (const SvdOptionError& e) {
    return {kExitUsage, e.what()};
  } catch (const io::IoError& e) {
    return {kExitUsage, std::string("cannot write the results: ") + e.what()};
  } catch (const NonFiniteError& e) {
    return {kExitDiverged, std::string("diverged: ") + e.what() + "\nTry a smaller --lr."};
  } catch (const std::bad_alloc&) {
    return {kExitInternal, "out of memory"};
  } catch (const std::exception& e) {
    return {kExitInternal, std::string("internal error: ") + e.what()};
  }
}

/// The processes of this run: one, or the P of `mpirun -np P tapegrad-svd` (issue 8, docs/scale-out.md).
/// Every process parses the same options and reads the matrix's shape; each reads only its block of rows,
/// and they solve together (solve_distributed); process 0 alone gathers U, writes --out and prints.
class Processes {
 public:
  Processes(int* argc, char*** argv) {
    if (!mpi::launched_with_several_processes()) return;
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
  int rank() const { return rank_; }
  int size() const { return size_; }
  bool several() const { return size_ > 1; }
  bool root() const { return rank_ == 0; }

  /// Every process calls it with its own outcome of the same step. Returns 0 when no process failed;
  /// otherwise the lowest-ranked process that failed prints its message and every process returns its code,
  /// so that no process goes on into a collective operation the others have left.
  int settle(const std::optional<Failure>& mine) const {
    int code = mine ? mine->code : 0;
    bool report = mine.has_value();
#if defined(TAPEGRAD_HAVE_MPI)
    if (several()) {
      // Encoded as (size - rank) * 16 + code, the maximum names the lowest failing rank and its code.
      double v = mine ? double(size_ - rank_) * 16 + mine->code : 0;
      mpi::max(&v, 1);
      const auto k = static_cast<int>(v);
      code = k % 16;
      report = k > 0 && size_ - k / 16 == rank_;
    }
#endif
    if (report) std::fprintf(stderr, "tapegrad-svd: %s\n", mine->message.c_str());
    return code;
  }

  /// For a failure that may have hit some processes only, in the middle of collective work (the solve, the
  /// gathering of U): prints it and ends every process with its code (MPI_Abort), since the others may be
  /// waiting in a collective operation that this process will never join. On one process, just the code.
  int fail_alone(const Failure& f) const {
    std::fprintf(stderr, "tapegrad-svd: %s\n", f.message.c_str());
#if defined(TAPEGRAD_HAVE_MPI)
    if (several()) {
      std::fflush(stderr);
      mpi::abort(f.code);
    }
#endif
    return f.code;
  }

  /// U's rows from every process, in order, on process 0 (collective).
  Matrix<double> gather_rows(const Matrix<double>& local) const {
#if defined(TAPEGRAD_HAVE_MPI)
    if (several()) return mpi::gather_rows(local);
#endif
    return local;
  }

 private:
#if defined(TAPEGRAD_HAVE_MPI)
  std::optional<mpi::Context> context_;
#endif
  int rank_ = 0, size_ = 1;
};

// ---- the run

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

  std::optional<std::int64_t> rank;
  SvdOptions& options = job.options;
  options = to_options(c, rank);
  set_threads(c);
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
    const mpi::RowBlock block = mpi::row_block(job.shape.rows, procs.rank(), procs.size());
    job.rows = io::read_matrix_rows(c.matrix, block.begin, block.count);
    job.row_begin = block.begin;
#endif
  }
  if (rank) {
    const Index kmax = std::min(job.shape.rows, job.shape.cols);
    if (*rank > kmax)
      throw UsageError{"--rank: " + std::to_string(*rank) + " is more than min(m, n) = " +
                       std::to_string(kmax) + " for the " + shape_of(job.shape) + " matrix " + c.matrix};
    options.rank = static_cast<Index>(*rank);
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
    write_graph(file, f32 ? loss_graph_dot<float>(job.rows, options, label, as_run)
                          : loss_graph_dot<double>(job.rows, options, label, as_run));
  }
  if (c.profile && procs.root()) {
    (c.json ? std::cerr : std::cout) << (f32 ? loss_profile_table<float>(job.rows, options, label)
                                             : loss_profile_table<double>(job.rows, options, label))
                                     << std::flush;
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
  if (procs.several()) return solve_distributed(job.rows, job.row_begin, job.shape.rows, job.options);
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
    if (mpi::launched_rank() == 0) std::fprintf(stderr, "tapegrad-svd: %s\n", f.message.c_str());
    return f.code;
  }
}
