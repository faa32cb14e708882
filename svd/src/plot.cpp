// The convergence plot as SVG, drawn by hand (no dependencies), in the style of a default plotly figure.
#include "tapegrad/svd/plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "tapegrad/io/write.hpp"

namespace tapegrad::svd {

namespace {

constexpr double kWidth = 700, kHeight = 450;
constexpr double kLeft = 80, kRight = 670, kTop = 70, kBottom = 390;  // the plot area
constexpr const char* kFont = "'Open Sans', verdana, arial, sans-serif";
constexpr const char* kInk = "#2a3f5f";
constexpr const char* kPlotBg = "#E5ECF6";
constexpr const char* kLine = "#636efa";

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

// The length of the well-formed UTF-8 sequence at s[i] (1 to 4), or 0 if the bytes there are not one.
std::size_t utf8_length(const std::string& s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k)
    if ((b(i + k) & 0xc0) != 0x80) return 0;
  if (n == 2 && c < 0xc2) return 0;  // overlong
  if (n == 3 && ((c == 0xe0 && b(i + 1) < 0xa0) || (c == 0xed && b(i + 1) >= 0xa0)))
    return 0;  // overlong, surrogate
  if (n == 4 && ((c == 0xf0 && b(i + 1) < 0x90) || c > 0xf4 || (c == 0xf4 && b(i + 1) >= 0x90))) return 0;
  return n;
}

// Text for an SVG document: XML's special characters escaped, control characters dropped, and bytes that are
// not UTF-8 (a file name in Latin-1) written as U+FFFD, so the document stays well-formed XML.
std::string xml_escape(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    const char c = s[i];
    const std::size_t n = utf8_length(s, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER
      ++i;
      continue;
    }
    if (n > 1) {
      out.append(s, i, n);
      i += n;
      continue;
    }
    ++i;
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        // Control characters are not allowed in XML 1.0.
        if (static_cast<unsigned char>(c) >= 0x20 || c == '\t') out += c;
    }
  }
  return out;
}

/// A label for a value of the form mantissa × 10^exponent (mantissa 1, 2 or 5).
std::string log_label(int mantissa, int exponent) {
  if (exponent >= -3 && exponent <= 4) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.*f", exponent < 0 ? -exponent : 0, mantissa * std::pow(10.0, exponent));
    return buf;
  }
  std::string e = exponent < 0 ? "\u2212" + std::to_string(-exponent) : std::to_string(exponent);
  std::string lead = mantissa == 1 ? "" : std::to_string(mantissa) + "\u00d7";
  return lead + "10<tspan dy=\"-6\" font-size=\"9\">" + e + "</tspan>";
}

std::string x_label(double v) {
  const auto i = static_cast<long long>(std::llround(v));
  if (i != 0 && i % 1000 == 0) return std::to_string(i / 1000) + "k";
  return std::to_string(i);
}

}  // namespace

std::string convergence_svg(const std::vector<double>& loss, const std::string& title,
                            const std::string& trace_name) {
  const std::size_t n = loss.size();
  auto plottable = [](double v) { return std::isfinite(v) && v > 0; };
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (double v : loss) {
    if (!plottable(v)) continue;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  const bool empty = !(lo <= hi);
  double ylo = empty ? -1 : std::log10(lo), yhi = empty ? 1 : std::log10(hi);
  if (yhi - ylo < 1e-9) {
    ylo -= 0.5;
    yhi += 0.5;
  }
  const double pad = 0.05 * (yhi - ylo);
  ylo -= pad;
  yhi += pad;
  const double xmax = n > 1 ? static_cast<double>(n - 1) : 1.0;
  auto px = [&](double i) { return kLeft + (kRight - kLeft) * i / xmax; };
  auto py = [&](double log_v) { return kBottom - (kBottom - kTop) * (log_v - ylo) / (yhi - ylo); };

  std::string s;
  s.reserve(8192);
  s += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  s += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(kWidth) + "\" height=\"" + num(kHeight) +
       "\" viewBox=\"0 0 " + num(kWidth) + " " + num(kHeight) + "\" font-family=\"" + kFont + "\" fill=\"" +
       kInk + "\">\n";
  s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  s += "<rect x=\"" + num(kLeft) + "\" y=\"" + num(kTop) + "\" width=\"" + num(kRight - kLeft) +
       "\" height=\"" + num(kBottom - kTop) + "\" fill=\"" + kPlotBg + "\"/>\n";
  s += "<clipPath id=\"plot-area\"><rect x=\"" + num(kLeft) + "\" y=\"" + num(kTop) + "\" width=\"" +
       num(kRight - kLeft) + "\" height=\"" + num(kBottom - kTop) + "\"/></clipPath>\n";

  // y ticks: every power of ten in range (thinned to at most ~16 labels); within about one decade, 1-2-5
  // steps.
  struct Tick {
    double log_v;
    std::string label;
  };
  std::vector<Tick> yticks;
  const int kmin = static_cast<int>(std::ceil(ylo - 1e-9)), kmax = static_cast<int>(std::floor(yhi + 1e-9));
  if (kmax - kmin >= 1) {
    // At most about 16 labels: every decade, or every 2nd, 5th, 10th, ... (multiples of the step).
    const int wanted = (kmax - kmin + 16) / 16;
    int step = 1;
    for (int nice : {1, 2, 5, 10, 20, 50, 100, 200, 500})
      if (nice >= wanted) {
        step = nice;
        break;
      }
    for (int k = kmin; k <= kmax; ++k)
      if (k % step == 0) yticks.push_back({static_cast<double>(k), log_label(1, k)});
  } else {
    for (int k = static_cast<int>(std::floor(ylo)) - 1; k <= static_cast<int>(std::ceil(yhi)); ++k)
      for (int mant : {1, 2, 5}) {
        const double lv = k + std::log10(static_cast<double>(mant));
        if (lv >= ylo && lv <= yhi) yticks.push_back({lv, log_label(mant, k)});
      }
  }
  s += "<g stroke=\"white\" stroke-width=\"1\">\n";
  for (const Tick& t : yticks)
    s += "<line x1=\"" + num(kLeft) + "\" x2=\"" + num(kRight) + "\" y1=\"" + num(py(t.log_v)) + "\" y2=\"" +
         num(py(t.log_v)) + "\"/>\n";
  // x ticks: a 1-2-5 step giving about six ticks, at least 1 (iterations are integers).
  const double raw = xmax / 6;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double norm = raw / mag;
  double xstep = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
  xstep = std::max(1.0, xstep);
  std::vector<double> xticks;
  for (double x = 0; x <= xmax + 1e-9 && xticks.size() < 100; x += xstep) xticks.push_back(x);
  for (double x : xticks)
    s += "<line x1=\"" + num(px(x)) + "\" x2=\"" + num(px(x)) + "\" y1=\"" + num(kTop) + "\" y2=\"" +
         num(kBottom) + "\"/>\n";
  s += "</g>\n<g font-size=\"12\">\n";
  for (const Tick& t : yticks)
    s += "<text x=\"" + num(kLeft - 8) + "\" y=\"" + num(py(t.log_v) + 4) + "\" text-anchor=\"end\">" +
         t.label + "</text>\n";
  for (double x : xticks)
    s += "<text x=\"" + num(px(x)) + "\" y=\"" + num(kBottom + 18) + "\" text-anchor=\"middle\">" +
         x_label(x) + "</text>\n";
  s += "</g>\n";

  // The line: skipped values break it; long histories keep the min and max of each pixel column.
  std::string d;
  std::vector<std::pair<double, double>> isolated;
  const double columns = kRight - kLeft;
  const bool bucketed = static_cast<double>(n) > 2 * columns;
  std::size_t segment = 0;
  std::pair<double, double> last{};
  auto emit = [&](double x, double log_v) {
    const double X = px(x), Y = py(log_v);
    d += segment == 0 ? 'M' : 'L';
    d += num(X);
    d += ',';
    d += num(Y);
    if (segment == 0) last = {X, Y};
    ++segment;
  };
  auto pen_up = [&] {
    if (segment == 1) isolated.push_back(last);
    segment = 0;
  };
  if (!bucketed) {
    for (std::size_t i = 0; i < n; ++i) {
      if (plottable(loss[i]))
        emit(static_cast<double>(i), std::log10(loss[i]));
      else
        pen_up();
    }
  } else {
    std::size_t i = 0;
    for (int c = 0; c < static_cast<int>(columns) && i < n; ++c) {
      const auto end = static_cast<std::size_t>(std::ceil((c + 1) * xmax / columns)) + 1;
      std::size_t imin = n, imax = n;
      for (; i < std::min(end, n); ++i) {
        if (!plottable(loss[i])) continue;
        if (imin == n || loss[i] < loss[imin]) imin = i;
        if (imax == n || loss[i] > loss[imax]) imax = i;
      }
      if (imin == n) {
        pen_up();
        continue;
      }
      const std::size_t a = std::min(imin, imax), b = std::max(imin, imax);
      emit(static_cast<double>(a), std::log10(loss[a]));
      if (b != a) emit(static_cast<double>(b), std::log10(loss[b]));
    }
  }
  pen_up();
  s += "<g clip-path=\"url(#plot-area)\">\n";
  if (!d.empty())
    s += "<path d=\"" + d + "\" fill=\"none\" stroke=\"" + kLine +
         "\" stroke-width=\"2\" stroke-linejoin=\"round\"/>\n";
  for (const auto& [x, y] : isolated)
    s += "<circle cx=\"" + num(x) + "\" cy=\"" + num(y) + "\" r=\"3.5\" fill=\"" + kLine + "\"/>\n";
  s += "</g>\n";
  if (empty)
    s += "<text x=\"" + num((kLeft + kRight) / 2) + "\" y=\"" + num((kTop + kBottom) / 2) +
         "\" text-anchor=\"middle\" font-size=\"14\">no positive finite loss values to plot</text>\n";

  // Title and axis titles.
  s += "<text x=\"" + num(kLeft) + "\" y=\"40\" font-size=\"17\" font-weight=\"bold\">" + xml_escape(title) +
       "</text>\n";
  if (!trace_name.empty()) {
    // Right-aligned at the plot's edge, the sample line just left of the text (about 5.8 px a character
    // at 12 px), so that a long name grows leftwards instead of running off the picture.
    const double text_left = kRight - 5.8 * static_cast<double>(trace_name.size());
    s += "<line x1=\"" + num(text_left - 38) + "\" x2=\"" + num(text_left - 8) +
         "\" y1=\"58\" y2=\"58\" stroke=\"" + kLine + "\" stroke-width=\"2\"/>\n";
    s += "<text x=\"" + num(kRight) + "\" y=\"62\" font-size=\"12\" text-anchor=\"end\">" +
         xml_escape(trace_name) + "</text>\n";
  }
  s += "<text x=\"" + num((kLeft + kRight) / 2) + "\" y=\"" + num(kBottom + 45) +
       "\" text-anchor=\"middle\" font-size=\"14\">Iterations</text>\n";
  s += "<text transform=\"translate(22," + num((kTop + kBottom) / 2) +
       ") rotate(-90)\" text-anchor=\"middle\" font-size=\"14\">Losses</text>\n";
  s += "</svg>\n";
  return s;
}

void write_convergence_svg(const std::string& path, const std::vector<double>& loss_history,
                           const std::string& title, const std::string& trace_name) {
  io::write_file_atomic(path, convergence_svg(loss_history, title, trace_name));
}

}  // namespace tapegrad::svd
