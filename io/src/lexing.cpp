// Lexing shared by the readers: positions, snippets, numbers, counts, tokens. See lexing.hpp.
#include "lexing.hpp"

#include <fast_float/fast_float.h>
#include <algorithm>
#include <cmath>
#include <system_error>

namespace tapegrad::io {

ParseError::ParseError(std::string file, long line, long column, std::string message)
    : std::runtime_error(detail::format_position(file, line, column, message)),
      file_(std::move(file)),
      line_(line),
      column_(column),
      message_(std::move(message)) {}

namespace detail {

std::string format_position(const std::string& file, long line, long column, const std::string& message) {
  if (line <= 0) return file + ": " + message;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

/// A short, printable rendering of untrusted bytes for an error message.
std::string snippet(std::string_view s, std::size_t max) {
  std::string out;
  const std::size_t n = std::min(s.size(), max);
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      static constexpr char hex[] = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  if (s.size() > max) out += "...";
  return out;
}

bool looks_binary(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c == 0 || (c < 0x20 && c != '\t' && c != '\n' && c != '\r');
  });
}

std::string count_string(std::size_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

Number parse_number(const Text& text, const char* p, const char* e, bool comma_ends) {
  const char* s = p;
  if (p < e && *p == '+' && p + 1 < e && (is_digit(p[1]) || p[1] == '.')) ++p;
  double v = 0;
  const auto r = fast_float::from_chars(p, e, v);
  const std::string_view tok = token_at(s, e, comma_ends);
  if (r.ec != std::errc() || r.ptr == p) {
    std::string msg = "expected a number, found '" + snippet(tok) + "'";
    if (tok.empty())
      msg = "expected a number, found '" + snippet(std::string_view(s, e - s > 0 ? 1 : 0)) + "'";
    if (looks_binary(std::string_view(s, static_cast<std::size_t>(std::min<std::ptrdiff_t>(e - s, 64)))))
      msg += " (this looks like binary data, not a text matrix file)";
    text.fail(s, msg);
  }
  if (!std::isfinite(v)) {
    const bool literal = is_alpha(*p) || (p + 1 < e && (*p == '-' || *p == '+') && is_alpha(p[1]));
    if (literal) {
      // Appended piece by piece: GCC 12 -O3 gives a false -Wrestrict error on `"'" + std::string`.
      std::string msg = "'";
      msg += snippet(tok);
      msg += "' is not allowed: NaN and infinite values make an SVD meaningless; replace or remove them";
      text.fail(s, msg);
    }
    text.fail(s, "the number '" + snippet(tok) + "' overflows a double (largest magnitude about 1.8e308)");
  }
  return {v, r.ptr};
}

void check_elements(const Text& text, const char* at, std::size_t count, const ReadLimits& limits) {
  if (count > static_cast<std::size_t>(limits.max_elements))
    text.fail(at, "the matrix has more than " + std::to_string(limits.max_elements) +
                      " entries, the limit for a dense matrix");
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

/// The blank-separated tokens of a line.
std::vector<std::string_view> split_blanks(std::string_view line, std::size_t max_tokens) {
  std::vector<std::string_view> out;
  Tokens tokens(line);
  for (std::string_view tok; out.size() < max_tokens && tokens.next(tok);) out.push_back(tok);
  return out;
}

/// A non-negative integer (digits only) below 2^62.
std::int64_t parse_count(const Text& text, std::string_view tok, const char* what) {
  std::int64_t v = 0;
  if (tok.empty()) text.fail(tok.data(), std::string("expected ") + what);
  for (char c : tok) {
    if (!is_digit(c))
      text.fail(tok.data(),
                std::string("expected ") + what + " (a non-negative integer), found '" + snippet(tok) + "'");
    if (v > (std::int64_t{1} << 58))
      text.fail(tok.data(), std::string(what) + " '" + snippet(tok) + "' is too large");
    v = v * 10 + (c - '0');
  }
  return v;
}

/// The error for a block that is not in the file: "rows 3..7 asked for, but the file has 5 rows".
void block_past_end(const std::string& file, const RowRange& r, Index rows) {
  const std::string block = r.end == r.begin + 1 ? "row " + std::to_string(r.begin + 1)
                            : r.end > r.begin
                                ? "rows " + std::to_string(r.begin + 1) + ".." + std::to_string(r.end)
                                : "an empty block after row " + std::to_string(r.begin);
  throw ParseError(file, 0, 0, block + " asked for, but the file has " + std::to_string(rows) + " rows");
}

/// What is over the element limit: "the declared size 100x8" for a full read, "the block of rows 3..102
/// (100x8)" for a block.
std::string over_limit(const char* declared, const RowRange& r, std::int64_t rows, std::int64_t cols) {
  const std::string shape = std::to_string(rows) + "x" + std::to_string(cols);
  if (r.all()) return std::string(declared) + " " + shape;
  return "the block of rows " + std::to_string(r.begin + 1) + ".." + std::to_string(r.begin + rows) + " (" +
         shape + ")";
}

}  // namespace detail

}  // namespace tapegrad::io
