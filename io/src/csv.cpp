// The CSV reader. See tapegrad/io/csv.hpp.
#include "tapegrad/io/csv.hpp"

#include <algorithm>
#include <istream>
#include <string>
#include <vector>

#include "lexing.hpp"
#include "readers.hpp"

namespace tapegrad::io {

namespace detail {

CsvRead parse_csv_impl(const Text& text, const ReadLimits& limits, const RowRange& keep) {
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

}  // namespace detail

Matrix<double> parse_csv(std::string_view text, const std::string& name, const ReadLimits& limits) {
  const detail::Text t(text, name, limits);
  return detail::parse_csv_impl(t, limits).m;
}

Matrix<double> read_csv(std::istream& in, const std::string& name, const ReadLimits& limits) {
  const std::string data = detail::read_stream(in, name, limits, detail::Expect::Text);
  return parse_csv(data, name, limits);
}

}  // namespace tapegrad::io
