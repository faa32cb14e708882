// The Matrix Market reader. See tapegrad/io/matrix_market.hpp.
#include "tapegrad/io/matrix_market.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "lexing.hpp"
#include "readers.hpp"

namespace tapegrad::io {

namespace detail {

namespace {

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

/// A coordinate file may always declare this many entries (1024x1024), whatever its size.
constexpr std::int64_t kDenseAlways = std::int64_t{1} << 20;

/// The most entries a coordinate file of `bytes` bytes may declare: limits.dense_per_byte per byte, at least
/// kDenseAlways (no overflow: a product beyond int64 is capped).
std::int64_t coordinate_dense_limit(std::size_t bytes, const ReadLimits& limits) {
  const std::int64_t per = std::max<std::int64_t>(limits.dense_per_byte, 0);
  const auto n = static_cast<std::int64_t>(bytes);
  const std::int64_t by_bytes = per > 0 && n > std::numeric_limits<std::int64_t>::max() / per
                                    ? std::numeric_limits<std::int64_t>::max()
                                    : n * per;
  return std::max(kDenseAlways, by_bytes);
}

}  // namespace

MmRead parse_matrix_market_impl(const Text& text, const ReadLimits& limits, const RowRange& keep,
                                bool header_only) {
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
  // An array file holds every entry it declares, so the bytes bound its matrix. A coordinate file lists only
  // the nonzeros, and a few bytes could ask for a dense matrix of max_elements zeros (a 64-byte file
  // declaring 8192x8192 would take 512 MiB before an entry is read): the dense size it may declare is bounded
  // by the input's size too (ReadLimits::dense_per_byte).
  if (coordinate) {
    const std::size_t bytes = text.body().size();
    const std::int64_t allowed = coordinate_dense_limit(bytes, limits);
    if (kept_rows > allowed / cols)
      text.fail(size_line, over_limit("the declared size", keep, kept_rows, cols) +
                               " is more than a coordinate file of " + count_string(bytes, "byte", "bytes") +
                               " may declare: " + std::to_string(allowed) + " entries (" +
                               std::to_string(limits.dense_per_byte) + " per byte of the file, at least " +
                               std::to_string(kDenseAlways) +
                               "); the size line is wrong, or save the matrix in array form or as .npy");
  }

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
      Tokens tokens(line);  // one at a time: the values may all be on one line as long as the file
      for (std::string_view tok; tokens.next(tok);) {
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

}  // namespace detail

Matrix<double> parse_matrix_market(std::string_view text, const std::string& name, const ReadLimits& limits) {
  const detail::Text t(text, name, limits);
  return detail::parse_matrix_market_impl(t, limits).m;
}

}  // namespace tapegrad::io
