// Matrix file readers (CSV, Matrix Market, NumPy .npy) and the atomic CSV writer. See matrix_io.hpp.
//
// Design rules, because these readers face hostile files:
//  - every size written in a file is checked against the bytes present and against ReadLimits before any
//    allocation; text readers grow their buffers only with values actually parsed;
//  - every loop advances over the input, so nothing can hang; no recursion depth depends on the input;
//  - error messages quote at most a short, escaped snippet of the input (binary junk stays readable).
#include "tapegrad/svd/matrix_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fast_float/fast_float.h>
#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace tapegrad::svd {

namespace {

namespace fs = std::filesystem;

std::string format_position(const std::string& file, long line, long column, const std::string& message) {
  if (line <= 0) return file + ": " + message;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

/// A short, printable rendering of untrusted bytes for an error message.
std::string snippet(std::string_view s, std::size_t max = 32) {
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

bool is_blank(char c) { return c == ' ' || c == '\t'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

const char* skip_blanks(const char* p, const char* e) {
  while (p < e && is_blank(*p)) ++p;
  return p;
}

/// The token at p: up to a blank, a comma, a '#' or the end.
std::string_view token_at(const char* p, const char* e, bool comma_ends = true) {
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
Number parse_number(const Text& text, const char* p, const char* e, bool comma_ends = true) {
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
    if (literal)
      text.fail(
          s, "'" + snippet(tok) +
                 "' is not allowed: NaN and infinite values make an SVD meaningless; replace or remove them");
    text.fail(s, "the number '" + snippet(tok) + "' overflows a double (largest magnitude about 1.8e308)");
  }
  return {v, r.ptr};
}

void check_elements(const Text& text, const char* at, std::size_t count, const ReadLimits& limits) {
  if (count > static_cast<std::size_t>(limits.max_elements))
    text.fail(at, "the matrix has more than " + std::to_string(limits.max_elements) +
                      " entries, the limit for a dense matrix");
}

// ---- CSV

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
[[noreturn]] void block_past_end(const std::string& file, const RowRange& r, Index rows) {
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

/// A CSV text's rows in `keep` and its shape. Only the first data row (which fixes the column count and the
/// separator) and the rows kept are parsed; the others are counted (a line that is not blank or a comment
/// is a data row), so an error in them goes unnoticed here.
struct CsvRead {
  Matrix<double> m;
  Index rows = 0;  ///< data rows in the whole text
  Index cols = 0;
};
CsvRead parse_csv_impl(const Text& text, const ReadLimits& limits, const RowRange& keep = {}) {
  std::vector<double> values;
  Index data_rows = 0;
  Index cols = -1;
  long first_line = 0;
  char file_sep = 0;  // ',' or ' ' once a row with two or more values has been seen
  long file_sep_line = 0;
  Lines lines(text);
  std::string_view line;
  while (lines.next(line)) {
    const char* p = line.data();
    const char* e = p + line.size();
    if (const char* first = skip_blanks(p, e); first == e || *first == '#') continue;  // blank or comment
    const Index row = data_rows++;
    const bool kept = keep.contains(row);
    if (!kept && cols >= 0) continue;  // not asked for: counted, not parsed
    const std::size_t row_start = values.size();
    Index count = 0;
    char row_sep = 0;
    const char* first_sep = nullptr;
    const char* last_comma = nullptr;
    bool need_value = false;  // after a comma
    while (true) {
      p = skip_blanks(p, e);
      if (p == e || *p == '#') {
        if (need_value) text.fail(last_comma, "empty field after ','");
        break;
      }
      if (*p == ',') text.fail(p, count == 0 ? "empty field before ','" : "empty field between two commas");
      if (cols >= 0 && count == cols)
        text.fail(p, "this row has more than " +
                         count_string(static_cast<std::size_t>(cols), "value", "values") + "; line " +
                         std::to_string(first_line) + " has " + std::to_string(cols) +
                         " (all rows must have the same number of values)");
      const char* value_start = p;
      Number num{};
      try {
        num = parse_number(text, p, e);
      } catch (const ParseError& err) {
        // A non-number on the first data row is probably a header: say how to keep it.
        if (cols < 0 && count == 0 && is_alpha(*p) && err.message().rfind("expected a number", 0) == 0)
          throw ParseError(err.file(), err.line(), err.column(),
                           err.message() + " (a header row? comment it out with '#')");
        throw;
      }
      p = num.end;
      if (p < e && !is_blank(*p) && *p != ',' && *p != '#')
        text.fail(p, "unexpected '" + snippet(token_at(p, e), 16) + "' after the number '" +
                         snippet(std::string_view(value_start, static_cast<std::size_t>(p - value_start))) +
                         "'");
      values.push_back(num.value);
      ++count;
      check_elements(text, value_start, values.size(), limits);
      need_value = false;
      const char* gap = p;
      p = skip_blanks(p, e);
      char sep = 0;
      const char* sep_at = nullptr;
      if (p < e && *p == ',') {
        sep = ',';
        sep_at = p;
        last_comma = p;
        need_value = true;
        ++p;
      } else if (p > gap && p < e && *p != '#') {
        sep = ' ';
        sep_at = gap;
      }
      if (sep != 0) {
        if (row_sep == 0) {
          row_sep = sep;
          first_sep = sep_at;
        } else if (row_sep != sep) {
          text.fail(sep_at, "this row mixes commas and spaces as separators; use one or the other");
        }
      }
    }
    if (cols < 0) {
      cols = count;
      first_line = lines.number();
    } else if (count != cols) {
      text.fail(p == e ? e : p, "this row has " +
                                    count_string(static_cast<std::size_t>(count), "value", "values") +
                                    "; line " + std::to_string(first_line) + " has " + std::to_string(cols) +
                                    " (all rows must have the same number of values)");
    }
    if (row_sep != 0) {
      if (file_sep == 0) {
        file_sep = row_sep;
        file_sep_line = lines.number();
      } else if (file_sep != row_sep) {
        text.fail(first_sep, std::string("this row separates values with ") +
                                 (row_sep == ',' ? "commas" : "spaces") + ", but line " +
                                 std::to_string(file_sep_line) + " uses " +
                                 (file_sep == ',' ? "commas" : "spaces"));
      }
    }
    if (!kept) values.resize(row_start);  // the first data row, parsed only for its shape
  }
  if (cols < 0) {
    const long at_line = std::max(1L, lines.number());
    const std::string what = text.body().empty() ? "the file is empty: no matrix to read"
                                                 : "no numbers: the file has only blank lines and comments";
    throw ParseError(text.name(), at_line, 1, what);
  }
  if (!keep.all() && keep.end > data_rows) block_past_end(text.name(), keep, data_rows);
  const Index rows = static_cast<Index>(values.size()) / cols;
  CsvRead out{Matrix<double>(rows, cols), data_rows, cols};
  for (Index i = 0; i < rows; ++i)
    for (Index j = 0; j < cols; ++j) out.m(i, j) = values[static_cast<std::size_t>(i * cols + j)];
  return out;
}

// ---- Matrix Market

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

/// The blank-separated tokens of a line.
std::vector<std::string_view> split_blanks(std::string_view line, std::size_t max_tokens) {
  std::vector<std::string_view> out;
  const char* p = line.data();
  const char* e = p + line.size();
  while (out.size() < max_tokens) {
    p = skip_blanks(p, e);
    if (p == e) break;
    const char* q = p;
    while (q < e && !is_blank(*q)) ++q;
    out.emplace_back(p, static_cast<std::size_t>(q - p));
    p = q;
  }
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

double parse_mm_value(const Text& text, std::string_view tok, bool integer) {
  if (integer) {
    std::size_t i = (!tok.empty() && (tok[0] == '-' || tok[0] == '+')) ? 1 : 0;
    if (i == tok.size() || !std::all_of(tok.begin() + static_cast<std::ptrdiff_t>(i), tok.end(), is_digit))
      text.fail(tok.data(),
                "expected an integer value (the header says 'integer'), found '" + snippet(tok) + "'");
  }
  const char* e = tok.data() + tok.size();
  const Number n = parse_number(text, tok.data(), e, false);
  if (n.end != e)
    text.fail(n.end, "unexpected '" +
                         snippet(std::string_view(n.end, static_cast<std::size_t>(e - n.end)), 16) +
                         "' after the number");
  return n.value;
}

/// A Matrix Market text's rows in `keep` and its shape; with header_only, just the shape (m is empty). Every
/// entry's position is checked; only the values of the rows kept are parsed.
struct MmRead {
  Matrix<double> m;
  Index rows = 0;
  Index cols = 0;
};
MmRead parse_matrix_market_impl(const Text& text, const ReadLimits& limits, const RowRange& keep = {},
                                bool header_only = false) {
  Lines lines(text);
  std::string_view line;
  if (!lines.next(line) || line.size() < 14 || !iequals(line.substr(0, 14), "%%MatrixMarket"))
    text.fail(text.begin(),
              "not a Matrix Market file: the first line must be "
              "'%%MatrixMarket matrix array|coordinate real|integer general|symmetric'" +
                  std::string(text.body().empty() ? " (the file is empty)" : ""));
  const auto banner = split_blanks(line, 6);
  if (banner.size() < 5)
    text.fail(line.data() + line.size(),
              "incomplete banner: expected '%%MatrixMarket matrix <format> <field> <symmetry>'");
  if (banner.size() > 5)
    text.fail(banner[5].data(), "unexpected '" + snippet(banner[5]) + "' after the banner");
  if (!iequals(banner[0], "%%MatrixMarket"))
    text.fail(banner[0].data(), "expected '%%MatrixMarket', found '" + snippet(banner[0]) + "'");
  if (!iequals(banner[1], "matrix"))
    text.fail(banner[1].data(), "the object '" + snippet(banner[1]) + "' is not supported: only 'matrix' is");
  bool coordinate = false;
  if (iequals(banner[2], "coordinate"))
    coordinate = true;
  else if (!iequals(banner[2], "array"))
    text.fail(banner[2].data(),
              "unknown format '" + snippet(banner[2]) + "': expected 'array' or 'coordinate'");
  bool integer = false;
  if (iequals(banner[3], "integer"))
    integer = true;
  else if (iequals(banner[3], "pattern"))
    text.fail(banner[3].data(),
              "'pattern' matrices are not supported: they have no values, and an SVD needs real values");
  else if (iequals(banner[3], "complex"))
    text.fail(banner[3].data(), "'complex' matrices are not supported: tapegrad computes real SVDs only");
  else if (!iequals(banner[3], "real") && !iequals(banner[3], "double"))
    text.fail(banner[3].data(), "unknown field '" + snippet(banner[3]) + "': expected 'real' or 'integer'");
  enum class Sym { General, Symmetric, Skew } sym = Sym::General;
  if (iequals(banner[4], "symmetric"))
    sym = Sym::Symmetric;
  else if (iequals(banner[4], "skew-symmetric"))
    sym = Sym::Skew;
  else if (iequals(banner[4], "hermitian"))
    text.fail(banner[4].data(), "'hermitian' matrices are not supported: they are complex");
  else if (!iequals(banner[4], "general"))
    text.fail(banner[4].data(),
              "unknown symmetry '" + snippet(banner[4]) + "': expected 'general' or 'symmetric'");

  // The size line: the first line that is neither a comment nor blank.
  std::vector<std::string_view> size;
  while (true) {
    if (!lines.next(line))
      text.fail(text.end(), std::string("missing the size line ('rows columns") +
                                (coordinate ? " entries" : "") + "') after the banner");
    if (!line.empty() && line[0] == '%') continue;
    size = split_blanks(line, 4);
    if (!size.empty()) break;
  }
  const std::size_t want = coordinate ? 3 : 2;
  const char* size_line = line.data();
  if (size.size() < want)
    text.fail(line.data() + line.size(), std::string("incomplete size line: expected 'rows columns") +
                                             (coordinate ? " entries" : "") + "'");
  if (size.size() > want)
    text.fail(size[want].data(), "unexpected '" + snippet(size[want]) + "' on the size line");
  const std::int64_t rows = parse_count(text, size[0], "the number of rows");
  const std::int64_t cols = parse_count(text, size[1], "the number of columns");
  const std::int64_t nnz = coordinate ? parse_count(text, size[2], "the number of entries") : 0;
  if (rows == 0 || cols == 0)
    text.fail(size_line, "the matrix is empty (" + std::to_string(rows) + "x" + std::to_string(cols) + ")");
  if (sym != Sym::General && rows != cols)
    text.fail(size_line, "a symmetric matrix must be square, but the size line says " + std::to_string(rows) +
                             "x" + std::to_string(cols));
  MmRead out;
  out.rows = static_cast<Index>(rows);
  out.cols = static_cast<Index>(cols);
  if (header_only) return out;
  if (!keep.all() && keep.end > out.rows) block_past_end(text.name(), keep, out.rows);
  const RowRange kept{keep.begin, std::min(keep.end, out.rows), keep.whole};
  const std::int64_t kept_rows = kept.end - kept.begin;
  if (kept_rows > limits.max_elements / cols)
    text.fail(size_line, over_limit("the declared size", keep, kept_rows, cols) +
                             " is more than the limit of " + std::to_string(limits.max_elements) +
                             " entries for a dense matrix");
  std::int64_t entries = nnz;
  if (!coordinate) {
    entries = sym == Sym::General     ? rows * cols
              : sym == Sym::Symmetric ? rows * (rows + 1) / 2
                                      : rows * (rows - 1) / 2;
  }
  // Each entry takes at least 2 bytes ("1\n"), or 6 in coordinate form ("1 1 1\n"): a header that declares
  // more entries than the rest of the file can hold is lying (or the file is truncated).
  const auto remaining = static_cast<std::int64_t>(text.end() - lines.rest());
  const std::int64_t min_bytes = coordinate ? 6 : 2;
  if (entries > 0 && entries > (remaining + 1) / min_bytes)
    text.fail(size_line, "the size line declares " + std::to_string(entries) + " entries, but only " +
                             std::to_string(remaining) +
                             " bytes follow: the header is wrong or the file is truncated");

  Matrix<double>& m = out.m;
  m.setZero(static_cast<Index>(kept_rows), static_cast<Index>(cols));
  // Entry (i, j) of the matrix, or null when row i is not kept.
  auto at = [&](std::int64_t i, std::int64_t j) -> double* {
    return kept.contains(static_cast<Index>(i))
               ? &m(static_cast<Index>(i) - kept.begin, static_cast<Index>(j))
               : nullptr;
  };
  std::int64_t seen = 0;
  const char* last_end = lines.rest();
  if (!coordinate) {
    // Values in column-major order (only the lower triangle when symmetric), blank-separated.
    std::int64_t r = sym == Sym::Skew ? 1 : 0, c = 0;
    while (lines.next(line)) {
      last_end = line.data() + line.size();
      if (!line.empty() && line[0] == '%') continue;
      for (std::string_view tok : split_blanks(line, std::numeric_limits<std::size_t>::max())) {
        if (seen == entries)
          text.fail(tok.data(), "unexpected '" + snippet(tok) + "': the size line declares only " +
                                    std::to_string(entries) + " entries");
        double* x = at(r, c);
        double* y = sym == Sym::General ? nullptr : at(c, r);
        if (x || y) {  // an entry of another block is counted, not parsed
          const double v = parse_mm_value(text, tok, integer);
          if (x) *x = v;
          if (y) *y = sym == Sym::Symmetric ? v : -v;
        }
        ++seen;
        if (++r == rows) {
          ++c;
          r = sym == Sym::General ? 0 : sym == Sym::Symmetric ? c : c + 1;
        }
      }
    }
  } else {
    while (lines.next(line)) {
      last_end = line.data() + line.size();
      if (!line.empty() && line[0] == '%') continue;
      const auto tok = split_blanks(line, 4);
      if (tok.empty()) continue;
      if (seen == entries)
        text.fail(tok[0].data(),
                  "unexpected data: the size line declares only " + std::to_string(entries) + " entries");
      if (tok.size() < 3)
        text.fail(line.data() + line.size(), "incomplete entry: expected 'row column value'");
      if (tok.size() > 3)
        text.fail(tok[3].data(), "unexpected '" + snippet(tok[3]) + "' after 'row column value'");
      const std::int64_t i = parse_count(text, tok[0], "a row index");
      const std::int64_t j = parse_count(text, tok[1], "a column index");
      if (i < 1 || i > rows)
        text.fail(tok[0].data(),
                  "row index " + std::to_string(i) + " is out of range 1.." + std::to_string(rows));
      if (j < 1 || j > cols)
        text.fail(tok[1].data(),
                  "column index " + std::to_string(j) + " is out of range 1.." + std::to_string(cols));
      if (sym != Sym::General && i < j)
        text.fail(tok[0].data(),
                  "entry (" + std::to_string(i) + ", " + std::to_string(j) +
                      ") is above the diagonal: a symmetric file lists only the lower triangle");
      if (sym == Sym::Skew && i == j)
        text.fail(tok[0].data(), "entry (" + std::to_string(i) + ", " + std::to_string(j) +
                                     ") is on the diagonal, which is zero in a skew-symmetric matrix");
      // Duplicates are summed (as scipy.io.mmread does). An entry of another block: its position is
      // checked, its value not parsed.
      double* x = at(i - 1, j - 1);
      double* y = sym == Sym::General || i == j ? nullptr : at(j - 1, i - 1);
      if (x || y) {
        const double v = parse_mm_value(text, tok[2], integer);
        if (x) *x += v;
        if (y) *y += sym == Sym::Symmetric ? v : -v;
        if ((x && !std::isfinite(*x)) || (y && !std::isfinite(*y)))
          text.fail(tok[2].data(), "summing duplicate entries overflows a double at (" + std::to_string(i) +
                                       ", " + std::to_string(j) + ")");
      }
      ++seen;
    }
  }
  if (seen < entries)
    text.fail(last_end, "the file ends after " + std::to_string(seen) + " of the " + std::to_string(entries) +
                            " entries the size line declares (truncated?)");
  return out;
}

// ---- NPY

class NpyReader {
 public:
  NpyReader(std::string_view bytes, const std::string& name) : b_(bytes), name_(name) {}
  [[noreturn]] void fail(std::size_t offset, const std::string& message) const {
    throw ParseError(name_, 1, static_cast<long>(offset) + 1, message);
  }
  std::string_view b_;
  const std::string& name_;
};

/// The header dictionary of a .npy file: {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }.
struct NpyHeader {
  std::string_view descr;
  std::size_t descr_at = 0;
  bool fortran = false;
  std::vector<std::int64_t> shape;
  std::size_t shape_at = 0;
};

NpyHeader parse_npy_header(const NpyReader& r, std::size_t start, std::size_t end) {
  const std::string_view b = r.b_;
  std::size_t p = start;
  auto ws = [&] {
    while (p < end && (b[p] == ' ' || b[p] == '\t' || b[p] == '\n' || b[p] == '\r')) ++p;
  };
  auto expect = [&](char c, const char* what) {
    ws();
    if (p >= end || b[p] != c)
      r.fail(p, std::string("bad .npy header: expected ") + what + ", found '" +
                    snippet(b.substr(p, p < end ? std::min<std::size_t>(end - p, 12) : 0)) + "'");
    ++p;
  };
  auto string_literal = [&]() -> std::string_view {
    ws();
    if (p >= end || (b[p] != '\'' && b[p] != '"')) r.fail(p, "bad .npy header: expected a quoted string");
    const char q = b[p++];
    const std::size_t s = p;
    while (p < end && b[p] != q) {
      if (b[p] == '\\') r.fail(p, "bad .npy header: escapes in strings are not supported");
      ++p;
    }
    if (p >= end) r.fail(s - 1, "bad .npy header: unterminated string");
    return b.substr(s, p++ - s);
  };
  NpyHeader h;
  bool have_descr = false, have_order = false, have_shape = false;
  expect('{', "'{'");
  while (true) {
    ws();
    if (p < end && b[p] == '}') {
      ++p;
      break;
    }
    const std::size_t key_at = p;
    const std::string_view key = string_literal();
    expect(':', "':'");
    ws();
    if (key == "descr") {
      if (have_descr) r.fail(key_at, "bad .npy header: 'descr' appears twice");
      have_descr = true;
      h.descr_at = p;
      if (p < end && b[p] == '[')
        r.fail(p, "structured dtypes are not supported: save a plain float64 or float32 array");
      h.descr = string_literal();
    } else if (key == "fortran_order") {
      if (have_order) r.fail(key_at, "bad .npy header: 'fortran_order' appears twice");
      have_order = true;
      if (b.substr(p, 4) == "True" && p + 4 <= end) {
        h.fortran = true;
        p += 4;
      } else if (b.substr(p, 5) == "False" && p + 5 <= end) {
        p += 5;
      } else {
        r.fail(p, "bad .npy header: 'fortran_order' must be True or False");
      }
    } else if (key == "shape") {
      if (have_shape) r.fail(key_at, "bad .npy header: 'shape' appears twice");
      have_shape = true;
      h.shape_at = p;
      expect('(', "'(' to open the shape");
      while (true) {
        ws();
        if (p < end && b[p] == ')') {
          ++p;
          break;
        }
        if (h.shape.size() >= 32) r.fail(p, "bad .npy header: too many dimensions");
        if (p >= end || !is_digit(b[p]))
          r.fail(p, "bad .npy header: expected a dimension (a non-negative integer)");
        std::int64_t v = 0;
        while (p < end && is_digit(b[p])) {
          if (v > (std::int64_t{1} << 58)) r.fail(h.shape_at, "bad .npy header: a dimension is too large");
          v = v * 10 + (b[p++] - '0');
        }
        if (p < end && b[p] == 'L') ++p;  // Python 2 long
        h.shape.push_back(v);
        ws();
        if (p < end && b[p] == ',') {
          ++p;
        } else if (p >= end || b[p] != ')') {
          r.fail(p, "bad .npy header: expected ',' or ')' in the shape");
        }
      }
    } else {
      r.fail(key_at, "bad .npy header: unexpected key '" + snippet(key) + "'");
    }
    ws();
    if (p < end && b[p] == ',') {
      ++p;
    } else if (p >= end || b[p] != '}') {
      r.fail(p, "bad .npy header: expected ',' or '}'");
    }
  }
  ws();
  if (p != end)
    r.fail(p, "bad .npy header: unexpected '" + snippet(b.substr(p, end - p), 12) + "' after '}'");
  if (!have_descr) r.fail(start, "bad .npy header: no 'descr' (the dtype)");
  if (!have_order) r.fail(start, "bad .npy header: no 'fortran_order'");
  if (!have_shape) r.fail(start, "bad .npy header: no 'shape'");
  return h;
}

template <class T>
T load_scalar(const char* p, bool swap) {
  std::array<unsigned char, sizeof(T)> raw{};
  std::memcpy(raw.data(), p, sizeof(T));
  if (swap) std::reverse(raw.begin(), raw.end());
  T v;
  std::memcpy(&v, raw.data(), sizeof(T));
  return v;
}

/// Where a .npy file's values are and how to read them.
struct NpyLayout {
  Index rows = 0, cols = 0;
  std::size_t item = 0;  // 4 or 8 bytes
  bool swap = false;     // big-endian data
  bool fortran = false;  // column-major
  std::size_t data_start = 0;
  std::size_t shape_at = 0;  // for messages about the shape
};

/// Parses the preamble and the header from `b`, the start of a file of file_size bytes (b holds at least the
/// header when the file does), checks that the rows in `keep` fit limits.max_elements and that exactly the
/// declared data follows.
NpyLayout parse_npy_layout(std::string_view b, std::size_t file_size, const std::string& name,
                           const ReadLimits& limits, const RowRange& keep) {
  NpyReader r(b, name);
  static constexpr std::string_view magic = "\x93NUMPY";
  if (b.substr(0, 6) != magic)
    r.fail(0, b.empty() ? "the file is empty: not a .npy file"
                        : "not a .npy file: it does not start with the magic bytes \\x93NUMPY");
  if (b.size() < 10) r.fail(b.size(), "truncated .npy file: it ends inside the preamble");
  const int major = static_cast<unsigned char>(b[6]), minor = static_cast<unsigned char>(b[7]);
  std::size_t header_len = 0, start = 0;
  if (major == 1) {
    header_len =
        static_cast<unsigned char>(b[8]) | (static_cast<std::size_t>(static_cast<unsigned char>(b[9])) << 8);
    start = 10;
  } else if (major == 2 || major == 3) {
    if (b.size() < 12) r.fail(b.size(), "truncated .npy file: it ends inside the preamble");
    for (int i = 3; i >= 0; --i) header_len = (header_len << 8) | static_cast<unsigned char>(b[8 + i]);
    start = 12;
  } else {
    r.fail(6, "unsupported .npy format version " + std::to_string(major) + "." + std::to_string(minor) +
                  " (versions 1.0, 2.0 and 3.0 are supported)");
  }
  if (header_len > file_size - start)
    r.fail(8, "the .npy header length (" + std::to_string(header_len) +
                  " bytes) is larger than the rest of the file (" + std::to_string(file_size - start) +
                  " bytes): the file is truncated or corrupt");
  if (header_len > b.size() - start)
    r.fail(
        8,
        "the .npy header is " + std::to_string(header_len) +
            " bytes; a block of rows is read from files whose header is under 1 MiB (read the whole file)");
  NpyLayout L;
  L.data_start = start + header_len;
  const NpyHeader h = parse_npy_header(r, start, L.data_start);
  L.fortran = h.fortran;
  L.shape_at = h.shape_at;

  const std::string_view d = h.descr;
  if (d.size() == 3 && (d[0] == '<' || d[0] == '>' || d[0] == '=') && d[1] == 'f' &&
      (d[2] == '8' || d[2] == '4')) {
    L.item = d[2] == '8' ? 8 : 4;
    L.swap = d[0] == '>';  // tapegrad runs on little-endian machines ('=' is native)
  } else {
    r.fail(h.descr_at, "unsupported dtype '" + snippet(d) +
                           "': only float64 ('<f8') and float32 ('<f4') arrays are read; convert with "
                           "a.astype(numpy.float64)");
  }
  if (h.shape.empty()) {
    r.fail(h.shape_at, "the array is 0-dimensional (a scalar), not a matrix");
  } else if (h.shape.size() == 1) {
    L.rows = 1;
    L.cols = static_cast<Index>(h.shape[0]);
  } else if (h.shape.size() == 2) {
    L.rows = static_cast<Index>(h.shape[0]);
    L.cols = static_cast<Index>(h.shape[1]);
  } else {
    r.fail(h.shape_at,
           "the array has " + std::to_string(h.shape.size()) + " dimensions; a matrix has 1 or 2");
  }
  if (L.rows == 0 || L.cols == 0)
    r.fail(h.shape_at,
           "the array is empty (shape " + std::to_string(L.rows) + "x" + std::to_string(L.cols) + ")");
  const Index kept = std::min(keep.end, L.rows) - std::min(keep.begin, L.rows);
  if (kept > limits.max_elements / L.cols)
    r.fail(h.shape_at, over_limit("the declared shape", keep, kept, L.cols) + " is more than the limit of " +
                           std::to_string(limits.max_elements) + " entries for a dense matrix");
  // Shapes beyond what a size_t can count in bytes are refused before multiplying.
  if (static_cast<std::size_t>(L.rows) >
      (std::numeric_limits<std::size_t>::max() / 8) / static_cast<std::size_t>(L.cols))
    r.fail(h.shape_at, "the declared shape " + std::to_string(L.rows) + "x" + std::to_string(L.cols) +
                           " is too large to address");
  const std::size_t need = static_cast<std::size_t>(L.rows) * static_cast<std::size_t>(L.cols) * L.item,
                    have = file_size - L.data_start;
  const std::string declared = "shape " + std::to_string(L.rows) + "x" + std::to_string(L.cols) + " " +
                               (L.item == 8 ? "float64" : "float32") + " (" + std::to_string(need) +
                               " bytes)";
  if (have < need)
    r.fail(file_size, "the header declares " + declared + " but only " + std::to_string(have) +
                          " bytes of data follow: the file is truncated or the header is wrong");
  if (have > need)
    r.fail(L.data_start + need, "the header declares " + declared + " but " + std::to_string(have - need) +
                                    " more bytes follow the data");
  return L;
}

/// The value at p, entry (i, j) of the matrix, at byte `offset` of the file; NaN and infinities are refused.
double npy_value(const NpyReader& r, const NpyLayout& L, const char* p, std::size_t offset, Index i,
                 Index j) {
  const double v =
      L.item == 8 ? load_scalar<double>(p, L.swap) : static_cast<double>(load_scalar<float>(p, L.swap));
  if (!std::isfinite(v))
    r.fail(offset, std::string("the value at row ") + std::to_string(i + 1) + ", column " +
                       std::to_string(j + 1) + " is " + (std::isnan(v) ? "NaN" : "infinite") +
                       ": NaN and infinite values make an SVD meaningless; replace or remove them");
  return v;
}

Matrix<double> parse_npy_impl(std::string_view b, const std::string& name, const ReadLimits& limits) {
  NpyReader r(b, name);
  if (b.size() > limits.max_bytes)
    throw ParseError(name, 0, 0,
                     "the input is " + std::to_string(b.size()) + " bytes, more than the limit of " +
                         std::to_string(limits.max_bytes));
  const NpyLayout L = parse_npy_layout(b, b.size(), name, limits, {});
  Matrix<double> m(L.rows, L.cols);
  const auto rows = static_cast<std::size_t>(L.rows), cols = static_cast<std::size_t>(L.cols);
  for (std::size_t k = 0; k < rows * cols; ++k) {
    const auto i = static_cast<Index>(L.fortran ? k % rows : k / cols);
    const auto j = static_cast<Index>(L.fortran ? k / rows : k % cols);
    const std::size_t offset = L.data_start + k * L.item;
    m(i, j) = npy_value(r, L, b.data() + offset, offset, i, j);
  }
  return m;
}

// ---- Reading files

std::string errno_text() { return std::strerror(errno); }

/// What a stream is expected to hold: text (a NUL byte stops the read: /dev/zero or a binary stream fails
/// fast instead of filling memory), a .npy file (a stream that does not start with its magic stops early, the
/// parser then says why), anything (Binary), or "look at the first bytes" (Sniff: Npy or Text).
enum class Expect { Text, Npy, Binary, Sniff };

/// Reads a stream to its end, at most limits.max_bytes.
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

}  // namespace

ParseError::ParseError(std::string file, long line, long column, std::string message)
    : std::runtime_error(format_position(file, line, column, message)),
      file_(std::move(file)),
      line_(line),
      column_(column),
      message_(std::move(message)) {}

Matrix<double> parse_csv(std::string_view text, const std::string& name, const ReadLimits& limits) {
  const Text t(text, name, limits);
  return parse_csv_impl(t, limits).m;
}

Matrix<double> parse_matrix_market(std::string_view text, const std::string& name, const ReadLimits& limits) {
  const Text t(text, name, limits);
  return parse_matrix_market_impl(t, limits).m;
}

Matrix<double> parse_npy(std::string_view bytes, const std::string& name, const ReadLimits& limits) {
  return parse_npy_impl(bytes, name, limits);
}

Matrix<double> read_csv(std::istream& in, const std::string& name, const ReadLimits& limits) {
  const std::string data = read_stream(in, name, limits, Expect::Text);
  return parse_csv(data, name, limits);
}

std::string read_file_bytes(const std::string& path, const ReadLimits& limits) {
  return read_path(path, limits, Expect::Binary);
}

const char* to_string(MatrixFormat f) {
  switch (f) {
    case MatrixFormat::Csv:
      return "csv";
    case MatrixFormat::MatrixMarket:
      return "mtx";
    case MatrixFormat::Npy:
      return "npy";
  }
  return "?";
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

// ---- Writing

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
  std::string tmp = (dir / ("." + target.filename().string() + ".tmp-XXXXXX")).string();
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

}  // namespace tapegrad::svd
