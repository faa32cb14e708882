// Writing matrices and result files. See tapegrad/io/write.hpp.
#include "tapegrad/io/write.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <ostream>
#include <string>

#include "readers.hpp"

namespace tapegrad::io {

namespace fs = std::filesystem;
using detail::errno_text;

std::string format_csv(const Matrix<double>& m) {
  std::string out;
  out.reserve(static_cast<std::size_t>(m.size()) * 24 + static_cast<std::size_t>(m.rows()));
  std::array<char, 64> buf{};
  for (Index i = 0; i < m.rows(); ++i) {
    for (Index j = 0; j < m.cols(); ++j) {
      if (j > 0) out += ',';
      const double v = m(i, j);
      if (std::isnan(v)) {
        out += "nan";
      } else if (std::isinf(v)) {
        out += v > 0 ? "inf" : "-inf";
      } else {
        const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);  // shortest round-trip form
        out.append(buf.data(), r.ptr);
      }
    }
    out += '\n';
  }
  return out;
}

void write_csv(std::ostream& out, const Matrix<double>& m) { out << format_csv(m); }

void write_file_atomic(const std::string& path, std::string_view content) {
  const fs::path target(path);
  fs::path dir = target.parent_path();
  if (dir.empty()) dir = ".";
  // The name appended piece by piece: GCC 12 -O3 gives a false -Wrestrict error on `"." + std::string`.
  std::string hidden = ".";
  hidden += target.filename().string();
  hidden += ".tmp-XXXXXX";
  std::string tmp = (dir / hidden).string();
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0)
    throw IoError(path + ": cannot create a temporary file in " + dir.string() + ": " + errno_text());
  auto fail = [&](const std::string& what) {
    const std::string reason = errno_text();
    ::close(fd);
    ::unlink(tmp.c_str());
    throw IoError(path + ": " + what + ": " + reason);
  };
  const char* p = content.data();
  std::size_t left = content.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("write failed");
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::fchmod(fd, 0644) != 0) fail("chmod failed");
  if (::fsync(fd) != 0) fail("fsync failed");
  if (::close(fd) != 0) {
    const std::string reason = errno_text();
    ::unlink(tmp.c_str());
    throw IoError(path + ": close failed: " + reason);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string reason = errno_text();
    ::unlink(tmp.c_str());
    throw IoError(path + ": cannot rename the temporary file into place: " + reason);
  }
  // Make the rename itself durable.
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
}

void write_matrix_csv(const std::string& path, const Matrix<double>& m) {
  write_file_atomic(path, format_csv(m));
}

}  // namespace tapegrad::io
