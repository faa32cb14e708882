// Internal: the binary encoding of saved optimizer states and checkpoints. Every number is written as
// its raw little-endian-of-this-machine bytes (exact: no decimal conversion), every section is preceded
// by what it is, and the reader throws StateError with the field it was reading when anything is off.
#pragma once

#include <cstdint>
#include <cstring>
#include <istream>
#include <ostream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "tapegrad/optim/optimizer.hpp"

namespace tapegrad::optim::detail {

class StateWriter {
 public:
  explicit StateWriter(std::ostream& out) : out_(out) {}
  template <class V>
  void pod(const V& v) {
    static_assert(std::is_trivially_copyable_v<V>);
    out_.write(reinterpret_cast<const char*>(&v), sizeof(V));
  }
  void u64(std::uint64_t v) { pod(v); }
  void i64(std::int64_t v) { pod(v); }
  void f64(double v) { pod(v); }
  void flag(bool v) { pod(static_cast<std::uint8_t>(v ? 1 : 0)); }
  void str(const std::string& s) {
    u64(s.size());
    out_.write(s.data(), static_cast<std::streamsize>(s.size()));
  }
  template <class T>
  void matrix(const Matrix<T>& m) {
    i64(m.rows());
    i64(m.cols());
    out_.write(reinterpret_cast<const char*>(m.data()), static_cast<std::streamsize>(sizeof(T) * m.size()));
  }
  void check(const char* what) {
    if (!out_) throw StateError(std::string("tapegrad: writing the optimizer state failed (") + what + ")");
  }

 private:
  std::ostream& out_;
};

class StateReader {
 public:
  explicit StateReader(std::istream& in) : in_(in) {}
  [[noreturn]] void fail(const std::string& msg) const {
    throw StateError("tapegrad: optimizer state: " + msg);
  }
  template <class V>
  V pod(const char* what) {
    static_assert(std::is_trivially_copyable_v<V>);
    V v;
    if (!in_.read(reinterpret_cast<char*>(&v), sizeof(V)))
      fail(std::string("truncated while reading ") + what);
    return v;
  }
  std::uint64_t u64(const char* what) { return pod<std::uint64_t>(what); }
  std::int64_t i64(const char* what) { return pod<std::int64_t>(what); }
  double f64(const char* what) { return pod<double>(what); }
  bool flag(const char* what) {
    const auto b = pod<std::uint8_t>(what);
    if (b > 1) fail(std::string("corrupted flag ") + what);
    return b == 1;
  }
  std::string str(const char* what, std::size_t max_len = 64) {
    const auto n = u64(what);
    if (n > max_len) fail(std::string("corrupted length of ") + what);
    std::string s(n, '\0');
    if (n && !in_.read(s.data(), static_cast<std::streamsize>(n)))
      fail(std::string("truncated while reading ") + what);
    return s;
  }
  /// Reads a matrix that must have the given shape.
  template <class T>
  Matrix<T> matrix(const char* what, Index rows, Index cols) {
    const auto r = i64(what), c = i64(what);
    if (r != rows || c != cols) {
      fail(std::string(what) + " is " + shape_string(r, c) + " in the saved state but the parameter is " +
           shape_string(rows, cols));
    }
    Matrix<T> m(rows, cols);
    if (m.size() &&
        !in_.read(reinterpret_cast<char*>(m.data()), static_cast<std::streamsize>(sizeof(T) * m.size())))
      fail(std::string("truncated while reading ") + what);
    return m;
  }
  /// Throws unless the stream is exhausted.
  void expect_end() {
    if (in_.peek() != std::char_traits<char>::eof()) fail("unexpected data after the end of the state");
  }

 private:
  std::istream& in_;
};

/// Each optimizer lists the option fields it saves once, as a function `fields(options, f)` calling
/// f(name, field) for each in order; save_body passes a WriteField, load_body a ReadField: the two sides
/// cannot disagree. Doubles are written as f64, flags as flag, integers as i64.
///
/// TAPEGRAD_SAVED_FIELDS(o, f, a, b, c) is that function's body: f("a", o.a); f("b", o.b); f("c", o.c);
/// each field named once (the name is the member's).
#define TAPEGRAD_SAVED_FIELDS(o, f, ...) \
  __VA_OPT__(TAPEGRAD_SAVED_FIELDS_EXPAND(TAPEGRAD_SAVED_FIELDS_STEP(o, f, __VA_ARGS__)))
#define TAPEGRAD_SAVED_FIELDS_STEP(o, f, member, ...) \
  f(#member, o.member);                               \
  __VA_OPT__(TAPEGRAD_SAVED_FIELDS_AGAIN TAPEGRAD_SAVED_FIELDS_PARENS(o, f, __VA_ARGS__))
#define TAPEGRAD_SAVED_FIELDS_PARENS ()
#define TAPEGRAD_SAVED_FIELDS_AGAIN() TAPEGRAD_SAVED_FIELDS_STEP
// The rescans the recursion needs, one a field: enough for 20 (more leave TAPEGRAD_SAVED_FIELDS_AGAIN
// unexpanded, which does not compile).
#define TAPEGRAD_SAVED_FIELDS_EXPAND(...)                      \
  TAPEGRAD_SAVED_FIELDS_EXPAND4(TAPEGRAD_SAVED_FIELDS_EXPAND4( \
      TAPEGRAD_SAVED_FIELDS_EXPAND4(TAPEGRAD_SAVED_FIELDS_EXPAND4(__VA_ARGS__))))
#define TAPEGRAD_SAVED_FIELDS_EXPAND4(...)                     \
  TAPEGRAD_SAVED_FIELDS_EXPAND1(TAPEGRAD_SAVED_FIELDS_EXPAND1( \
      TAPEGRAD_SAVED_FIELDS_EXPAND1(TAPEGRAD_SAVED_FIELDS_EXPAND1(__VA_ARGS__))))
#define TAPEGRAD_SAVED_FIELDS_EXPAND1(...) __VA_ARGS__

struct WriteField {
  StateWriter& w;
  void operator()(const char*, double v) const { w.f64(v); }
  void operator()(const char*, bool v) const { w.flag(v); }
  template <class I, std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool>, int> = 0>
  void operator()(const char*, I v) const {
    w.i64(static_cast<std::int64_t>(v));
  }
};
/// The reading side of WriteField (the name is what a truncated or corrupted state's message says).
struct ReadField {
  StateReader& r;
  void operator()(const char* name, double& v) const { v = r.f64(name); }
  void operator()(const char* name, bool& v) const { v = r.flag(name); }
  template <class I, std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool>, int> = 0>
  void operator()(const char* name, I& v) const {
    v = static_cast<I>(r.i64(name));
  }
};

/// Reads the options of `groups` groups, each the fields `fields(options, f)` lists (lr is not saved: it
/// is left 0), and validates each (validate(options)): StateError naming the group if one is not valid.
template <class Options, class Fields>
std::vector<Options> read_options(StateReader& r, std::size_t groups, Fields fields) {
  std::vector<Options> opts(groups);
  for (std::size_t gi = 0; gi < groups; ++gi) {
    Options& o = opts[gi];
    o.lr = 0;
    fields(o, ReadField{r});
    try {
      validate(o);
    } catch (const std::invalid_argument& e) {
      r.fail("invalid options of group " + std::to_string(gi) + ": " + e.what());
    }
  }
  return opts;
}

/// 64-bit FNV-1a, the checksum of checkpoint files.
inline std::uint64_t fnv1a(const char* data, std::size_t n) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (std::size_t i = 0; i < n; ++i) {
    h ^= static_cast<unsigned char>(data[i]);
    h *= 0x100000001b3ULL;
  }
  return h;
}

}  // namespace tapegrad::optim::detail
