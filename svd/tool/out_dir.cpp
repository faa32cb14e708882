// --out as one unit, signals, and path checks. See out_dir.hpp.
#include "out_dir.hpp"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "errors.hpp"
#include "tapegrad/io/errors.hpp"

namespace tapegrad::svd::tool {

namespace fs = std::filesystem;

const char* const kResultFiles[5] = {"U.csv", "singular_values.csv", "V.csv", "loss.csv", "convergence.svg"};

namespace {

volatile sig_atomic_t g_defer_signals = 0, g_pending_signal = 0;

extern "C" void on_deferrable_signal(int sig) {
  if (g_defer_signals != 0) {  // temporaries exist: remember it, the writer delivers it when they are gone
    g_pending_signal = sig;
    return;
  }
  ::signal(sig, SIG_DFL);  // otherwise its usual effect, at once (async-signal-safe calls only)
  ::raise(sig);
}

}  // namespace

DeferSignals::DeferSignals() {
  struct sigaction sa {};
  sa.sa_handler = on_deferrable_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
  g_defer_signals = 1;
}
DeferSignals::~DeferSignals() {
  g_defer_signals = 0;
  if (const int sig = g_pending_signal; sig != 0) {
    std::fflush(stdout);
    ::signal(sig, SIG_DFL);
    ::raise(sig);
  }
}

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

OutDir::OutDir(const std::string& dir) {
  try {
    open(dir);
  } catch (...) {
    release();  // no destructor runs for a constructor that throws
    throw;
  }
}

OutDir::~OutDir() { release(); }

void OutDir::open(const std::string& dir) {
  dir_ = fs::path(dir).lexically_normal();
  if (dir.empty()) throw UsageError{"--out: the directory name is empty"};
  if (dir_.filename().empty()) dir_ = dir_.parent_path();  // "d/" -> "d"
  if (dir_.filename().empty() || dir_.filename() == "." || dir_.filename() == "..")
    throw UsageError{"--out: '" + dir +
                     "' names no directory of its own; give a directory name, e.g. results"};
  parent_ = dir_.parent_path().empty() ? fs::path(".") : dir_.parent_path();
  std::error_code ec;
  // The directories this run creates above DIR, deepest first: removed again if the run writes nothing.
  for (fs::path p = parent_; !p.empty() && !fs::exists(fs::symlink_status(p, ec)); p = p.parent_path()) {
    created_.push_back(p);
    if (p == p.parent_path()) break;
  }
  fs::create_directories(parent_, ec);
  if (ec) throw UsageError{"--out: cannot create '" + parent_.string() + "': " + ec.message()};
  if (::access(parent_.c_str(), W_OK | X_OK) != 0)
    throw UsageError{"--out: cannot write to '" + parent_.string() + "': " + std::strerror(errno)};
  const std::string base = dir_.filename().string();
  lock_path_ = (parent_ / ("." + base + ".lock")).string();
  // The lock file is removed when the run ends (~OutDir). A run that opened it just before then holds a
  // removed file: having locked it, each run checks that its file is still the one at lock_path_, and
  // otherwise starts again with the new one.
  for (int attempt = 0;; ++attempt) {
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
    struct stat held {
    }, named{};
    if (::fstat(lock_fd_, &held) == 0 && ::lstat(lock_path_.c_str(), &named) == 0 &&
        held.st_dev == named.st_dev && held.st_ino == named.st_ino)
      break;
    ::close(lock_fd_);
    lock_fd_ = -1;
    if (attempt == 100)
      throw UsageError{"--out: the lock " + lock_path_ +
                       " keeps being replaced; is another program using it?"};
  }
  check_existing();
  // Temporaries of a run that was killed (SIGKILL, power loss): ours to remove, under the lock.
  for (const auto& e : fs::directory_iterator(parent_, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("." + base + ".tmp-", 0) == 0 && name.size() == base.size() + 12)
      fs::remove_all(e.path(), ec);
  }
}

void OutDir::release() noexcept {
  if (lock_fd_ >= 0) {
    ::unlink(lock_path_.c_str());  // still held: no other run can be between its lock and its check
    ::close(lock_fd_);
    lock_fd_ = -1;
  }
  // A run that wrote nothing leaves no directories behind either (only empty ones it made are removed).
  std::error_code ec;
  if (!replaced_)
    for (const auto& p : created_)
      if (!fs::remove(p, ec)) break;
  created_.clear();
}

void OutDir::replace_with(const std::function<void(const fs::path&)>& fill) {
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
  replaced_ = true;
}

void OutDir::check_existing() const {
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

}  // namespace tapegrad::svd::tool
