// Lexing shared by the readers (internal to tapegrad::io): the text being parsed with its positions, lines,
// numbers and counts, error snippets, and the rows a reader keeps.
//
// Design rules, because these readers face hostile files:
//  - every size written in a file is checked against the bytes present and against ReadLimits before any
//    allocation; text readers grow their buffers only with values actually parsed;
//  - every loop advances over the input, so nothing can hang; no recursion depth depends on the input;
//  - error messages quote at most a short, escaped snippet of the input (binary junk stays readable).
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tapegrad/io/errors.hpp"

namespace tapegrad::io::detail {

/// "FILE:LINE:COL: message", or "FILE: message" when line is 0.
std::string format_position(const std::string& file, long line, long column, const std::string& message);
/// A short, printable rendering of untrusted bytes for an error message.
std::string snippet(std::string_view s, std::size_t max = 32);
/// Whether s holds a NUL or a control character other than tab, LF and CR.
bool looks_binary(std::string_view s);
/// "1 value", "3 values".
std::string count_string(std::size_t n, const char* one, const char* many);

/// Text being parsed: knows its name, skips a UTF-8 BOM, turns a pointer into a line and a column.
/// Text being parsed: knows its name, skips a UTF-8 BOM, turns a pointer into a line and a column.
class Text {
 public:
  Text(std::string_view text, const std::string& name, const ReadLimits& limits) : name_(name) {
    if (text.size() > limits.max_bytes)
      throw ParseError(name, 0, 0,
                       "the input is " + std::to_string(text.size()) + " bytes, more than the limit of " +
                           std::to_string(limits.max_bytes));
    if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
    body_ = text;
    if (text.substr(0, 2) == "\xFF\xFE" || text.substr(0, 2) == "\xFE\xFF")
      fail(text.data(),
           "the file is UTF-16 encoded (it starts with a UTF-16 byte order mark); save it as UTF-8");
  }
  std::string_view body() const { return body_; }
  const char* begin() const { return body_.data(); }
  const char* end() const { return body_.data() + body_.size(); }

  /// Line and column (1-based) of p; line ends are LF, CRLF or a lone CR.
  std::pair<long, long> position(const char* p) const {
    long line = 1;
    const char* line_start = begin();
    for (const char* q = begin(); q < p && q < end(); ++q) {
      if (*q == '\n' || (*q == '\r' && (q + 1 >= end() || q[1] != '\n'))) {
        ++line;
        line_start = q + 1;
      }
    }
    return {line, static_cast<long>(p - line_start) + 1};
  }

  [[noreturn]] void fail(const char* p, const std::string& message) const {
    const auto [line, column] = position(p);
    throw ParseError(name_, line, column, message);
  }
  const std::string& name() const { return name_; }

 private:
  const std::string& name_;
  std::string_view body_;
};

/// Iterates over the lines of a text (without their line ends), counting them.
class Lines {
 public:
  explicit Lines(const Text& t) : p_(t.begin()), end_(t.end()) {}
  bool next(std::string_view& line) {
    if (p_ >= end_) return false;
    const char* q = p_;
    while (q < end_ && *q != '\n' && *q != '\r') ++q;
    line = std::string_view(p_, static_cast<std::size_t>(q - p_));
    if (q < end_) q += (*q == '\r' && q + 1 < end_ && q[1] == '\n') ? 2 : 1;
    p_ = q;
    ++number_;
    return true;
  }
  long number() const { return number_; }
  const char* rest() const { return p_; }

 private:
  const char* p_;
  const char* end_;
  long number_ = 0;
};

inline bool is_blank(char c) { return c == ' ' || c == '\t'; }
inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

inline const char* skip_blanks(const char* p, const char* e) {
  while (p < e && is_blank(*p)) ++p;
  return p;
}

/// The token at p: up to a blank, a comma, a '#' or the end.
inline std::string_view token_at(const char* p, const char* e, bool comma_ends = true) {
  const char* q = p;
  while (q < e && !is_blank(*q) && !(comma_ends && *q == ',') && *q != '#') ++q;
  return {p, static_cast<std::size_t>(q - p)};
}

/// Parses a finite double at p (fast_float; a leading '+' is allowed). Fails through text.fail with a
/// message that says what is wrong: not a number, NaN/Inf, overflow.
struct Number {
  double value;
  const char* end;
};
Number parse_number(const Text& text, const char* p, const char* e, bool comma_ends = true);

/// Fails at `at` when `count` entries are more than limits.max_elements.
void check_elements(const Text& text, const char* at, std::size_t count, const ReadLimits& limits);

/// Iterates over the blank-separated tokens of a line without storing them: a line may be the whole file, so
/// a list of its tokens would be a header-independent allocation many times the input's size.
class Tokens {
 public:
  explicit Tokens(std::string_view line) : p_(line.data()), end_(line.data() + line.size()) {}
  /// The next token in `tok`; false at the end of the line.
  bool next(std::string_view& tok) {
    p_ = skip_blanks(p_, end_);
    if (p_ == end_) return false;
    const char* q = p_;
    while (q < end_ && !is_blank(*q)) ++q;
    tok = std::string_view(p_, static_cast<std::size_t>(q - p_));
    p_ = q;
    return true;
  }

 private:
  const char* p_;
  const char* end_;
};

/// Case-insensitive ASCII comparison.
bool iequals(std::string_view a, std::string_view b);
/// The first max_tokens blank-separated tokens of a line.
std::vector<std::string_view> split_blanks(std::string_view line, std::size_t max_tokens);
/// A non-negative integer (digits only) below 2^62; `what` names it in errors.
std::int64_t parse_count(const Text& text, std::string_view tok, const char* what);

/// Which data rows a reader keeps: all of them (a full read), or [begin, end) (a block).
struct RowRange {
  Index begin = 0;
  Index end = std::numeric_limits<Index>::max();
  bool whole = true;
  static RowRange block(Index begin, Index end) { return {begin, end, false}; }
  bool contains(Index i) const { return i >= begin && i < end; }
  bool all() const { return whole; }
};

/// The error for a block that is not in the file: "rows 3..7 asked for, but the file has 5 rows".
[[noreturn]] void block_past_end(const std::string& file, const RowRange& r, Index rows);

/// What is over the element limit: "the declared size 100x8" for a full read, "the block of rows 3..102
/// (100x8)" for a block.
std::string over_limit(const char* declared, const RowRange& r, std::int64_t rows, std::int64_t cols);

}  // namespace tapegrad::io::detail
