// tapegrad-svd's outputs as one unit: --out replaced in one rename under a lock, signals deferred while
// temporaries exist, and the checks that --graph, --out and the input never alias (docs/bad-inputs.md,
// "Faults and signals").
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "options.hpp"

namespace tapegrad::svd::tool {

// --out as one unit: a run's results are all from that run, or not there at all.
//
// DIR's parent holds three hidden names beside it: .DIR.lock (held with fcntl for the whole run: a second
// writer is refused; removed at the end), .DIR.tmp-XXXXXX (the new results, written there first) and, for a
// moment, the old results after the exchange. The new directory replaces DIR in one rename (renameat2
// RENAME_EXCHANGE, or two renames where the file system lacks it); the old one is removed after. SIGINT,
// SIGTERM and SIGHUP are deferred while temporaries exist and delivered once they are gone, so an interrupted
// run leaves the previous results or the new ones, never a mix and never a temporary. A stale temporary (a
// SIGKILLed run) is removed by the next run into DIR, under the lock.

/// The files a run writes into --out (DIR may hold only these).
extern const char* const kResultFiles[5];

/// Defers SIGINT, SIGTERM and SIGHUP while it lives: the handler (whichever thread, e.g. a BLAS worker, gets
/// the signal) only records it; it is delivered with its usual effect (the run ends) at the end, after the
/// temporaries were removed or renamed into place.
class DeferSignals {
 public:
  DeferSignals();
  ~DeferSignals();
  DeferSignals(const DeferSignals&) = delete;
  DeferSignals& operator=(const DeferSignals&) = delete;
};

/// TAPEGRAD_SVD_FAULT (tests only): "fail:FILE" makes writing FILE of --out fail like a full disk;
/// "signal:FILE" sends this process SIGTERM just after FILE was written into the temporary directory.
/// Called before (before = true) and after each file is written.
void fault_hook(const char* file, bool before);

/// The --out directory of a run: checked and locked before the solve, replaced as one unit after it.
class OutDir {
 public:
  /// Checks DIR (UsageError naming the problem), takes the lock, removes a killed run's temporaries.
  explicit OutDir(const std::string& dir);
  ~OutDir();
  OutDir(const OutDir&) = delete;
  OutDir& operator=(const OutDir&) = delete;

  const std::filesystem::path& path() const { return dir_; }

  /// Writes the results into a new temporary directory (fill(tmp) writes the files), then puts it in
  /// DIR's place in one rename and removes the previous results. On any failure the previous results are
  /// untouched and nothing temporary is left; throws io::IoError.
  void replace_with(const std::function<void(const std::filesystem::path&)>& fill);

 private:
  void open(const std::string& dir);
  /// Unlocks (removing the lock file) and, unless the results were written, removes the directories above DIR
  /// that this run created.
  void release() noexcept;
  /// DIR may be new, or a real directory (not a symlink) holding only tapegrad-svd's result files: replacing
  /// it must never delete anything else.
  void check_existing() const;

  std::filesystem::path dir_, parent_;
  std::vector<std::filesystem::path> created_;  // directories above DIR this run created, deepest first
  bool replaced_ = false;                       // replace_with succeeded
  std::string lock_path_;
  int lock_fd_ = -1;
};

/// Checks that the --graph files, --out and the input are different things, and that each --graph FILE
/// is "-" (stdout), new, or a regular file (never a device, a symlink or a directory).
void check_paths(const Cli& c);

}  // namespace tapegrad::svd::tool
