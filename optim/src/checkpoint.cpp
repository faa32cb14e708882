// Checkpoint file layout (all numbers raw bytes of this machine's representation):
//   "TGCKPT01"  u64 version  u64 sizeof(T)  u64 parameter count
//   per parameter: i64 rows, i64 cols, rows*cols T (column-major)
//   u64 state size, the optimizer's save_state() bytes
//   u64 FNV-1a checksum of everything before it
#include "tapegrad/optim/checkpoint.hpp"

#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>

#include "serialize.hpp"

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

namespace tapegrad::optim {

namespace {
constexpr char kMagic[8] = {'T', 'G', 'C', 'K', 'P', 'T', '0', '1'};
constexpr std::uint64_t kVersion = 1;

[[noreturn]] void fail(const std::string& path, const std::string& msg) {
  throw StateError("tapegrad: checkpoint '" + path + "': " + msg);
}
}  // namespace

template <class T>
void save_checkpoint(const std::string& path, const Optimizer<T>& opt) {
  std::ostringstream body;
  detail::StateWriter w(body);
  body.write(kMagic, sizeof kMagic);
  w.u64(kVersion);
  w.u64(sizeof(T));
  const auto params = opt.parameters();
  w.u64(params.size());
  for (const auto* p : params) w.matrix(p->value);
  std::ostringstream state;
  opt.save_state(state);
  const std::string s = state.str();
  w.u64(s.size());
  body.write(s.data(), static_cast<std::streamsize>(s.size()));
  std::string bytes = body.str();
  const std::uint64_t sum = detail::fnv1a(bytes.data(), bytes.size());
  bytes.append(reinterpret_cast<const char*>(&sum), sizeof sum);

  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) fail(path, "cannot open the temporary file '" + tmp + "' for writing");
  bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size() && std::fflush(f) == 0;
#if defined(__unix__) || defined(__APPLE__)
  ok = ok && ::fsync(fileno(f)) == 0;
#endif
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) {
    std::remove(tmp.c_str());
    fail(path, "writing the temporary file '" + tmp + "' failed");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    fail(path, "cannot rename '" + tmp + "' to it");
  }
}

template <class T>
void load_checkpoint(const std::string& path, Optimizer<T>& opt) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open it for reading");
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) fail(path, "reading it failed");
  if (bytes.size() < sizeof kMagic || bytes.compare(0, sizeof kMagic, kMagic, sizeof kMagic) != 0)
    fail(path, "not a tapegrad checkpoint (bad magic)");
  if (bytes.size() < sizeof kMagic + 4 * sizeof(std::uint64_t)) fail(path, "truncated");
  std::uint64_t sum;
  std::memcpy(&sum, bytes.data() + bytes.size() - sizeof sum, sizeof sum);
  const std::size_t body_size = bytes.size() - sizeof sum;
  if (detail::fnv1a(bytes.data(), body_size) != sum)
    fail(path, "checksum mismatch: the file is corrupted or truncated");

  std::istringstream body(bytes.substr(sizeof kMagic, body_size - sizeof kMagic));
  detail::StateReader r(body);
  try {
    if (const auto v = r.u64("version"); v != kVersion)
      r.fail("unsupported checkpoint version " + std::to_string(v));
    if (const auto s = r.u64("scalar size"); s != sizeof(T))
      r.fail("saved with " +
             std::string(s == 4   ? "float"
                         : s == 8 ? "double"
                                  : "unknown") +
             " parameters, loading into " + (sizeof(T) == 4 ? "float" : "double") + " ones");
    const auto params = opt.parameters();
    if (const auto n = r.u64("parameter count"); n != params.size())
      r.fail("it holds " + std::to_string(n) + " parameters, the optimizer has " +
             std::to_string(params.size()));
    std::vector<Matrix<T>> values;
    values.reserve(params.size());
    for (std::size_t k = 0; k < params.size(); ++k)
      values.push_back(r.matrix<T>(("value of parameter " + std::to_string(k)).c_str(),
                                   params[k]->value.rows(), params[k]->value.cols()));
    const auto state_size = r.u64("optimizer state size");
    if (state_size > bytes.size()) r.fail("corrupted optimizer state size");
    std::string state(state_size, '\0');
    if (state_size && !body.read(state.data(), static_cast<std::streamsize>(state_size)))
      r.fail("truncated optimizer state");
    r.expect_end();
    // The optimizer validates its own part and changes nothing unless all of it is right; the
    // backup covers the one check that can only be made after it (no bytes left over).
    std::stringstream backup;
    opt.save_state(backup);
    std::istringstream state_in(state);
    opt.load_state(state_in);
    if (state_in.peek() != std::char_traits<char>::eof()) {
      opt.load_state(backup);
      r.fail("unexpected data after the optimizer state");
    }
    for (std::size_t k = 0; k < params.size(); ++k) params[k]->value = std::move(values[k]);
  } catch (const StateError& e) {
    std::string msg = e.what();
    if (msg.rfind("tapegrad: ", 0) == 0) msg.erase(0, 10);
    fail(path, msg);
  }
}

template void save_checkpoint<float>(const std::string&, const Optimizer<float>&);
template void save_checkpoint<double>(const std::string&, const Optimizer<double>&);
template void load_checkpoint<float>(const std::string&, Optimizer<float>&);
template void load_checkpoint<double>(const std::string&, Optimizer<double>&);

}  // namespace tapegrad::optim
