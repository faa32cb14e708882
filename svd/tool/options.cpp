// tapegrad-svd's options. See options.hpp.
#include "options.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <thread>
#include <utility>

#include <sys/resource.h>
#include <unistd.h>

#include "errors.hpp"

#if defined(TAPEGRAD_HAVE_BLAS) && defined(__GNUC__)
// OpenBLAS's own thread control. Weak, so that the tool still links and runs with a BLAS that lacks it.
extern "C" void openblas_set_num_threads(int) __attribute__((weak));
#endif

namespace tapegrad::svd::tool {

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return s;
}

/// The value `text` names in `names` (any case); otherwise UsageError "OPTION: unknown WHAT 'TEXT' (choose
/// CHOICES)".
template <class E>
E named(const char* option, const char* what, const std::string& text,
        std::initializer_list<std::pair<const char*, E>> names, const char* choices) {
  const std::string key = lower(text);
  for (const auto& [name, value] : names)
    if (key == name) return value;
  throw UsageError{std::string(option) + ": unknown " + what + " '" + text + "' (choose " + choices + ")"};
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

}  // namespace

const char* const kFooter = R"(MATRIX
  A .csv file (numbers separated by commas or by spaces/tabs; '#' comments, blank lines, CRLF and a UTF-8 BOM
  are fine), a Matrix Market .mtx file (array or coordinate; real or integer; general, symmetric or
  skew-symmetric), a NumPy .npy file (float32 or float64, C or Fortran order, 1-D read as one row), or - for
  CSV on stdin. NaN and infinite values are refused.

RECIPES
  auto  what you expect of an SVD: any shape, top-k with --rank, stops on --tol, float64, singular values
        sorted descending, singular vector pairs sign-normalised. The full SVD minimises a penalty loss with
        L-BFGS; the top k (--rank k < min(m, n)) a Brockett cost with a Riemannian trust region, unless
        --optimizer or --lr is given (then the penalty loss with that method or step).
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
  // An option with a value: its name, where the text goes, the value's placeholder in --help, the help.
  auto value = [&app](const char* name, std::string& text, const char* placeholder, const char* help) {
    app.add_option(name, text, help)->type_name(placeholder);
  };
  app.add_option("MATRIX", c.matrix, "Matrix file (.csv, .mtx, .npy) or - for CSV on stdin")
      ->required()
      ->type_name("FILE");
  value("--recipe", c.recipe, "NAME",
        "seed|auto: the notebooks' recipe or the robust default (default: auto)");
  value("--optimizer", c.optimizer, "NAME", "sgd|adam|adamw (default: the recipe's choice; seed: sgd)");
  value("--lr", c.lr, "X", "Learning rate, > 0 (default: the recipe's; seed: sgd 0.9, adam 1e-3)");
  value("--momentum", c.momentum, "X", "SGD momentum, >= 0 (seed default 0.9)");
  value("--dampening", c.dampening, "X", "SGD dampening, >= 0 (default 0)");
  app.add_flag("--nesterov", c.nesterov, "SGD with Nesterov momentum");
  value("--weight-decay", c.weight_decay, "X", "Weight decay, >= 0 (seed adam default 1e-5)");
  value("--beta1", c.beta1, "X", "Adam beta1, in [0, 1) (default 0.9)");
  value("--beta2", c.beta2, "X", "Adam beta2, in [0, 1) (default 0.999)");
  value("--eps", c.eps, "X", "Adam epsilon, >= 0 (default 1e-8)");
  app.add_flag("--amsgrad", c.amsgrad, "Adam with AMSGrad");
  value("--iters", c.iters, "N", "Iterations: the seed recipe's count (default 20000), auto's maximum");
  value("--tol", c.tol, "X",
        "Bound on error_bound for converged, > 0 (default: 5e-11 float64, 5e-6 float32)");
  value("--rank", c.rank, "K", "Number of singular triplets k, 1 <= k <= min(m, n) (default: min(m, n))");
  value("--dtype", c.dtype, "NAME", "float32|float64 (default: seed float32, auto float64)");
  value("--seed", c.seed, "N", "Random seed of the initial values, >= 0 (default 314)");
  value("--threads", c.threads, "N", "Threads for matrix products (OpenBLAS, Eigen), >= 1 (default 1)");
  value("--max-memory", c.max_memory, "SIZE",
        "Refuse a run that would need more memory: bytes or with K, M, G, T (powers of 1024) "
        "(default: the machine's memory or the process's limit, the smaller)");
  value("--init-dir", c.init_dir, "DIR", "Seed recipe: start from U0.csv, diag_sqrt0.csv, V0.csv in DIR");
  value("--out", c.out_dir, "DIR",
        "Write U.csv, singular_values.csv, V.csv, loss.csv, convergence.svg to DIR");
  value("--graph", c.graph, "FILE",
        "Write the recipe's loss graph for the matrix's shape as Graphviz DOT to FILE (dot -Tsvg), "
        "as the formula is written");
  value("--graph-optimized", c.graph_optimized, "FILE",
        "Write the same graph as it runs, after the graph optimizer's rewrites: each fused node "
        "names the pattern it replaced");
  app.add_flag("--profile", c.profile,
               "Before solving, time 20 steps (forward and backward) of the loss graph as it runs for the "
               "matrix and print the per-op table (on stderr with --json)");
  app.add_flag("--json", c.json, "Print the result as one JSON object on stdout");
  app.add_flag("--quiet", c.quiet, "No progress line on stderr");
  app.footer(kFooter);
  app.get_formatter()->column_width(26);
}

/// SvdOptions from the command line (everything that does not need the matrix).
SvdOptions to_options(const Cli& c) {
  SvdOptions o;
  o.recipe = named<Recipe>("--recipe", "recipe", c.recipe, {{"seed", Recipe::Seed}, {"auto", Recipe::Auto}},
                           "seed or auto");
  if (!c.optimizer.empty())
    o.optimizer = named<OptimizerKind>(
        "--optimizer", "optimizer", c.optimizer,
        {{"sgd", OptimizerKind::Sgd}, {"adam", OptimizerKind::Adam}, {"adamw", OptimizerKind::AdamW}},
        "sgd, adam or adamw");
  if (!c.dtype.empty())
    o.dtype = named<Dtype>("--dtype", "dtype", c.dtype,
                           {{"float32", Dtype::Float32},
                            {"f32", Dtype::Float32},
                            {"float64", Dtype::Float64},
                            {"f64", Dtype::Float64}},
                           "float32 or float64");
  // Text to values here (a message quoting the text); the rules are the library's (check_options below).
  auto real = [](const char* name, const std::string& text) -> std::optional<double> {
    if (text.empty()) return std::nullopt;
    return parse_real(name, text);
  };
  o.lr = real("--lr", c.lr);
  o.momentum = real("--momentum", c.momentum);
  o.dampening = real("--dampening", c.dampening);
  o.weight_decay = real("--weight-decay", c.weight_decay);
  o.beta1 = real("--beta1", c.beta1);
  o.beta2 = real("--beta2", c.beta2);
  o.eps = real("--eps", c.eps);
  o.tolerance = real("--tol", c.tol);
  o.nesterov = c.nesterov;
  o.amsgrad = c.amsgrad;
  if (!c.iters.empty()) {
    static_assert(sizeof(long) == sizeof(std::int64_t));
    o.iterations = static_cast<long>(parse_whole("--iters", c.iters));
  }
  if (!c.rank.empty()) o.rank = static_cast<Index>(parse_whole("--rank", c.rank));
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
  check_options(o);  // SvdOptionError naming the field: errors.cpp says which option
  return o;
}

MemoryLimit memory_limit(const Cli& c) {
  if (!c.max_memory.empty()) {
    std::string number = c.max_memory;
    double unit = 1;
    const char last = static_cast<char>(std::toupper(static_cast<unsigned char>(number.back())));
    if (const auto* p = std::strchr("KMGT", last); p != nullptr && last != '\0') {
      unit = std::pow(1024.0, static_cast<double>(p - "KMGT" + 1));
      number.pop_back();
    }
    double v = -1;
    try {
      if (!number.empty()) v = parse_real("--max-memory", number) * unit;
    } catch (const UsageError&) {
      v = -1;
    }
    if (!(v >= 0 && v < 1.8e19))
      throw UsageError{"--max-memory: expected a size in bytes (or with K, M, G, T), got '" + c.max_memory +
                       "'"};
    return {static_cast<std::uint64_t>(v), "--max-memory"};
  }
  MemoryLimit lim{std::numeric_limits<std::uint64_t>::max(), "no limit found"};
  auto consider = [&lim](std::uint64_t bytes, const char* source) {
    if (bytes < lim.bytes) lim = {bytes, source};
  };
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  if (pages > 0 && page > 0)
    consider(static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page), "this machine's memory");
  for (auto [resource, name] : {std::pair{RLIMIT_AS, "the address-space limit, ulimit -v"},
                                std::pair{RLIMIT_DATA, "the data limit, ulimit -d"}}) {
    rlimit r{};
    if (getrlimit(resource, &r) == 0 && r.rlim_cur != RLIM_INFINITY) consider(r.rlim_cur, name);
  }
  std::ifstream cgroup("/sys/fs/cgroup/memory.max");  // cgroup v2; "max" when unlimited
  std::uint64_t cg = 0;
  if (cgroup >> cg) consider(cg, "the cgroup's memory.max");
  return lim;
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

std::string option_of_field(const std::string& field) {
  static const std::pair<const char*, const char*> names[] = {{"lr", "--lr"},
                                                              {"momentum", "--momentum"},
                                                              {"dampening", "--dampening"},
                                                              {"weight_decay", "--weight-decay"},
                                                              {"beta1", "--beta1"},
                                                              {"beta2", "--beta2"},
                                                              {"eps", "--eps"},
                                                              {"nesterov", "--nesterov"},
                                                              {"amsgrad", "--amsgrad"},
                                                              {"iterations", "--iters"},
                                                              {"tolerance", "--tol"},
                                                              {"rank", "--rank"},
                                                              {"init", "--init-dir"},
                                                              {"recipe", "--recipe"},
                                                              {"optimizer", "--optimizer"},
                                                              {"dtype", "--dtype"},
                                                              {"seed", "--seed"},
                                                              {"memory_limit", "--max-memory"}};
  for (const auto& [f, option] : names)
    if (field == f) return option;
  return field;  // a field without an option of its own: its name
}

void check_values_given(const CLI::App& app) {
  for (const CLI::Option* opt : app.get_options()) {
    if (opt->get_type_size() == 0) continue;  // a flag: no value
    for (const std::string& v : opt->results())
      if (v.empty())
        throw UsageError{opt->get_name() + ": the value is empty (leave the option out for its default)"};
  }
}

}  // namespace tapegrad::svd::tool
