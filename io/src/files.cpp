// Matrix files by path: reading files and streams, the format of a name, whole matrices, shapes and blocks of
// rows. See tapegrad/io/files.hpp.
#include "tapegrad/io/files.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "lexing.hpp"
#include "readers.hpp"
#include "tapegrad/io/csv.hpp"
#include "tapegrad/io/matrix_market.hpp"
#include "tapegrad/io/npy.hpp"

namespace tapegrad::io {

namespace fs = std::filesystem;

// ---- Reading files

namespace detail {

std::string errno_text() { return std::strerror(errno); }

std::string read_stream(std::istream& in, const std::string& name, const ReadLimits& limits, Expect expect) {
  static constexpr std::string_view magic = "\x93NUMPY";
  std::string data;
  std::array<char, 1 << 16> buf{};
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto n = static_cast<std::size_t>(in.gcount());
    if (n == 0) break;
    if (data.size() + n > limits.max_bytes)
      throw ParseError(
          name, 0, 0, "the input is larger than the limit of " + std::to_string(limits.max_bytes) + " bytes");
    const std::size_t old = data.size();
    data.append(buf.data(), n);
    if (expect == Expect::Sniff && data.size() >= magic.size())
      expect = std::string_view(data).substr(0, magic.size()) == magic ? Expect::Npy : Expect::Text;
    if (expect == Expect::Npy && data.size() >= magic.size() && std::string_view(data).substr(0, 6) != magic)
      break;
    if (expect == Expect::Text) {
      const void* nul = std::memchr(data.data(), 0, data.size());
      if (old > 0) nul = std::memchr(data.data() + old, 0, n);
      if (nul != nullptr) {
        const Text t(data, name, limits);
        t.fail(static_cast<const char*>(nul), "binary data (a NUL byte): this is not a text matrix file");
      }
    }
  }
  if (in.bad()) throw ParseError(name, 0, 0, "read error");
  return data;
}

std::string read_path(const std::string& path, const ReadLimits& limits, Expect expect) {
  std::error_code ec;
  const auto st = fs::status(path, ec);
  if (ec || !fs::exists(st)) {
    errno = ec ? ec.value() : ENOENT;
    throw ParseError(path, 0, 0, "cannot open: " + errno_text());
  }
  if (fs::is_directory(st)) throw ParseError(path, 0, 0, "cannot read: it is a directory, not a matrix file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ParseError(path, 0, 0, "cannot open: " + errno_text());
  if (fs::is_regular_file(st)) {
    const auto size = fs::file_size(path, ec);
    if (!ec) {
      if (size > limits.max_bytes)
        throw ParseError(path, 0, 0,
                         "the file is " + std::to_string(size) + " bytes, more than the limit of " +
                             std::to_string(limits.max_bytes));
      std::string data(static_cast<std::size_t>(size), '\0');
      in.read(data.data(), static_cast<std::streamsize>(size));
      data.resize(static_cast<std::size_t>(in.gcount()));
      if (in.bad()) throw ParseError(path, 0, 0, "read error: " + errno_text());
      return data;
    }
  }
  return read_stream(in, path, limits, expect);
}

std::string lower_extension(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  for (char& c : ext) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return ext;
}

}  // namespace detail

using namespace detail;

std::string read_file_bytes(const std::string& path, const ReadLimits& limits) {
  return read_path(path, limits, Expect::Binary);
}

const char* to_string(MatrixFormat f) {
  static constexpr const char* kNames[] = {"csv", "mtx", "npy"};
  const auto i = static_cast<std::size_t>(f);  // kNames is in MatrixFormat's order
  return i < std::size(kNames) ? kNames[i] : "?";
}

MatrixFormat detect_format(const std::string& path, std::string_view head) {
  if (path == "-") return MatrixFormat::Csv;
  const std::string ext = lower_extension(path);
  if (ext == ".csv" || ext == ".tsv" || ext == ".txt" || ext == ".dat") return MatrixFormat::Csv;
  if (ext == ".mtx" || ext == ".mm") return MatrixFormat::MatrixMarket;
  if (ext == ".npy") return MatrixFormat::Npy;
  if (ext == ".npz")
    throw ParseError(
        path, 0, 0, ".npz archives are not supported: save the array alone with numpy.save('matrix.npy', a)");
  if (ext == ".gz" || ext == ".bz2" || ext == ".xz" || ext == ".zst" || ext == ".zip")
    throw ParseError(path, 0, 0, "compressed files are not supported: decompress it first");
  if (head.substr(0, 6) == "\x93NUMPY") return MatrixFormat::Npy;
  std::string_view h = head;
  if (h.substr(0, 3) == "\xEF\xBB\xBF") h.remove_prefix(3);
  if (h.size() >= 14 && iequals(h.substr(0, 14), "%%MatrixMarket")) return MatrixFormat::MatrixMarket;
  return MatrixFormat::Csv;
}

Matrix<double> read_matrix(const std::string& path, const ReadLimits& limits) {
  if (path == "-") return read_csv(std::cin, "<stdin>", limits);
  // The name says what to expect; from a pipe or a device, a wrong start stops the read early.
  const std::string ext = lower_extension(path);
  const MatrixFormat by_name = detect_format(path);  // refuses archives before reading them
  const bool known = ext == ".csv" || ext == ".tsv" || ext == ".txt" || ext == ".dat" || ext == ".mtx" ||
                     ext == ".mm" || ext == ".npy";
  const Expect expect = !known ? Expect::Sniff : by_name == MatrixFormat::Npy ? Expect::Npy : Expect::Text;
  const std::string data = read_path(path, limits, expect);
  switch (detect_format(path, data)) {
    case MatrixFormat::Csv:
      return parse_csv(data, path, limits);
    case MatrixFormat::MatrixMarket:
      return parse_matrix_market(data, path, limits);
    case MatrixFormat::Npy:
      return parse_npy(data, path, limits);
  }
  return {};
}

// ---- Shapes and blocks of rows

namespace {

/// The format of a file for the shape and row readers: by name, else by its first bytes.
MatrixFormat format_of(const std::string& path) {
  if (path == "-")
    throw ParseError(
        "<stdin>", 0, 0,
        "a block of rows or a shape is read from a file, not from stdin (it cannot be read twice "
        "or by several processes); save the matrix to a file");
  const MatrixFormat by_name = detect_format(path);  // refuses archives
  std::error_code ec;
  const auto st = fs::status(path, ec);
  if (ec || !fs::exists(st)) {
    errno = ec ? ec.value() : ENOENT;
    throw ParseError(path, 0, 0, "cannot open: " + errno_text());
  }
  if (!fs::is_regular_file(st))
    throw ParseError(path, 0, 0,
                     "a block of rows or a shape is read from a regular file, not from a pipe, a device or a "
                     "directory (it is read more than once)");
  const std::string ext = lower_extension(path);
  if (ext == ".csv" || ext == ".tsv" || ext == ".txt" || ext == ".dat" || ext == ".mtx" || ext == ".mm" ||
      ext == ".npy")
    return by_name;
  std::ifstream in(path, std::ios::binary);
  std::array<char, 32> head{};
  in.read(head.data(), head.size());
  return detect_format(path, std::string_view(head.data(), static_cast<std::size_t>(in.gcount())));
}

/// A regular .npy file opened for reading by offset, with its layout.
struct NpyFile {
  std::ifstream in;
  NpyLayout layout;
};
NpyFile open_npy(const std::string& path, const ReadLimits& limits, const RowRange& keep) {
  std::error_code ec;
  const auto size = static_cast<std::size_t>(fs::file_size(path, ec));
  if (ec) throw ParseError(path, 0, 0, "cannot read its size: " + ec.message());
  NpyFile f;
  f.in.open(path, std::ios::binary);
  if (!f.in) throw ParseError(path, 0, 0, "cannot open: " + errno_text());
  // The preamble and the header: a 2-D array's header is well under a kilobyte; 1 MiB is plenty.
  std::string head(std::min<std::size_t>(size, std::size_t{1} << 20), '\0');
  f.in.read(head.data(), static_cast<std::streamsize>(head.size()));
  if (static_cast<std::size_t>(f.in.gcount()) != head.size()) throw ParseError(path, 0, 0, "read error");
  f.layout = parse_npy_layout(head, size, path, limits, keep);
  return f;
}

/// Reads n bytes at `offset` of the file.
void read_at(std::ifstream& in, const std::string& path, std::size_t offset, char* dst, std::size_t n) {
  in.seekg(static_cast<std::streamoff>(offset));
  in.read(dst, static_cast<std::streamsize>(n));
  if (!in || static_cast<std::size_t>(in.gcount()) != n)
    throw ParseError(path, 0, 0, "read error at byte " + std::to_string(offset) + " (was the file changed?)");
}

}  // namespace

MatrixShape read_matrix_shape(const std::string& path, const ReadLimits& limits) {
  const RowRange none = RowRange::block(0, 0);
  switch (format_of(path)) {
    case MatrixFormat::Npy: {
      const NpyFile f = open_npy(path, limits, none);
      return {f.layout.rows, f.layout.cols};
    }
    case MatrixFormat::MatrixMarket: {
      const std::string data = read_path(path, limits, Expect::Text);
      const Text t(data, path, limits);
      const MmRead r = parse_matrix_market_impl(t, limits, none, /*header_only=*/true);
      return {r.rows, r.cols};
    }
    case MatrixFormat::Csv: {
      const std::string data = read_path(path, limits, Expect::Text);
      const Text t(data, path, limits);
      const CsvRead r = parse_csv_impl(t, limits, none);
      return {r.rows, r.cols};
    }
  }
  return {};
}

Matrix<double> read_matrix_rows(const std::string& path, Index begin, Index count, const ReadLimits& limits) {
  if (begin < 0 || count < 0)
    throw std::invalid_argument("read_matrix_rows: begin and count must be >= 0, got " +
                                std::to_string(begin) + " and " + std::to_string(count));
  if (count > std::numeric_limits<Index>::max() - begin)
    throw std::invalid_argument("read_matrix_rows: begin + count overflows");
  const RowRange keep = RowRange::block(begin, begin + count);
  switch (format_of(path)) {
    case MatrixFormat::Npy: {
      NpyFile f = open_npy(path, limits, keep);
      const NpyLayout& L = f.layout;
      if (keep.end > L.rows) block_past_end(path, keep, L.rows);
      const NpyReader r({}, path);
      Matrix<double> m(count, L.cols);
      const auto rows = static_cast<std::size_t>(L.rows), cols = static_cast<std::size_t>(L.cols);
      const auto first = static_cast<std::size_t>(begin), n = static_cast<std::size_t>(count);
      // The block's values lie in runs of consecutive bytes: one in all (C order) or one per column (Fortran
      // order). Each run is read in pieces of at most 1 MiB.
      const std::size_t runs = L.fortran ? cols : 1, run = L.fortran ? n : n * cols;
      const std::size_t piece = (std::size_t{1} << 20) / L.item;
      std::vector<char> buf(std::min(run, piece) * L.item);
      for (std::size_t c = 0; c < runs; ++c) {
        for (std::size_t k0 = 0; k0 < run; k0 += piece) {
          const std::size_t len = std::min(piece, run - k0);
          const std::size_t at = L.data_start + ((L.fortran ? c * rows + first : first * cols) + k0) * L.item;
          read_at(f.in, path, at, buf.data(), len * L.item);
          for (std::size_t k = 0; k < len; ++k) {
            const std::size_t e = k0 + k;
            const auto i = static_cast<Index>(L.fortran ? e : e / cols);
            const auto j = static_cast<Index>(L.fortran ? c : e % cols);
            m(i, j) = npy_value(r, L, buf.data() + k * L.item, at + k * L.item, begin + i, j);
          }
        }
      }
      return m;
    }
    case MatrixFormat::MatrixMarket: {
      const std::string data = read_path(path, limits, Expect::Text);
      const Text t(data, path, limits);
      return parse_matrix_market_impl(t, limits, keep).m;
    }
    case MatrixFormat::Csv: {
      const std::string data = read_path(path, limits, Expect::Text);
      const Text t(data, path, limits);
      return parse_csv_impl(t, limits, keep).m;
    }
  }
  return {};
}

}  // namespace tapegrad::io
