// tapegrad-svd's command line: the options, their checks, and SvdOptions from them.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "tapegrad/svd/solver.hpp"

namespace tapegrad::svd::tool {

/// The command line as given (values as text: each is checked by to_options with a message naming it).
struct Cli {
  std::string matrix;
  std::string recipe = "auto", optimizer, dtype;
  std::string lr, momentum, dampening, weight_decay, beta1, beta2, eps, iters, tol, rank, seed, threads;
  bool nesterov = false, amsgrad = false, json = false, quiet = false;
  std::string init_dir, out_dir;
  std::string graph;            ///< --graph FILE: the loss graph as Graphviz DOT, as written
  std::string graph_optimized;  ///< --graph-optimized FILE: the loss graph as it runs (after the rewrites)
  bool profile = false;         ///< --profile: print the per-op profile of the loss graph as it runs
  std::string max_memory;       ///< --max-memory SIZE
};

/// The memory a run may use, and where the number comes from (for the message that refuses a run).
struct MemoryLimit {
  std::uint64_t bytes = 0;
  std::string source;  ///< "--max-memory", "this machine's memory", "ulimit -v", ...
};

/// --max-memory as given (bytes, or with a K/M/G/T suffix: powers of 1024), else the smallest of the
/// machine's memory, the process's address-space and data limits and the cgroup's memory.max. Throws
/// UsageError for text that is not a size.
MemoryLimit memory_limit(const Cli& c);

/// Declares the options, the help text and its footer on app, bound to c.
void add_options(CLI::App& app, Cli& c);

/// An option given with an empty value (--rank '') is an error, not the default: UsageError naming it.
void check_values_given(const CLI::App& app);

/// SvdOptions from the command line (everything that does not need the matrix), checked by the library's
/// rules (svd::check_options; the rank against the matrix comes later). Throws UsageError for text that is
/// not a value, SvdOptionError naming the field for a value that breaks a rule.
SvdOptions to_options(const Cli& c);

/// The command-line option of an SvdOptions field ("lr" -> "--lr", "iterations" -> "--iters", ...).
std::string option_of_field(const std::string& field);

/// --threads: Eigen's and OpenBLAS's thread count (1 unless told; capped at the machine's cores, with a
/// note).
void set_threads(const Cli& c);

}  // namespace tapegrad::svd::tool
