// The convergence SVG: a well-formed, self-contained figure for any loss history.
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "tapegrad/svd/plot.hpp"

using Catch::Matchers::Contains;
using tapegrad::svd::convergence_svg;

namespace {

std::size_t count(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (auto p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

void well_formed(const std::string& svg) {
  CHECK(svg.rfind("<?xml", 0) == 0);
  CHECK_THAT(svg, Contains("<svg xmlns=\"http://www.w3.org/2000/svg\""));
  CHECK(svg.find("</svg>") != std::string::npos);
  CHECK(count(svg, "<text") == count(svg, "</text>"));
  CHECK(count(svg, "<g") == count(svg, "</g>"));
  CHECK(svg.find("nan") == std::string::npos);
  CHECK(svg.find("inf") == std::string::npos);
  CHECK(svg.find("http://") == svg.find("http://www.w3.org/2000/svg"));  // nothing external
}

}  // namespace

TEST_CASE("plot: a decaying loss has decade ticks, axis titles, title and legend", "[plot]") {
  std::vector<double> loss;
  for (int i = 0; i <= 20000; ++i) loss.push_back(0.2 * std::exp(-i / 700.0) + 1e-14);
  const std::string svg = convergence_svg(loss, "How fast? <b>&</b>", "M1.csv, seed, sgd");
  well_formed(svg);
  CHECK_THAT(svg, Contains("How fast? &lt;b&gt;&amp;&lt;/b&gt;"));
  CHECK_THAT(svg, Contains(">Iterations</text>"));
  CHECK_THAT(svg, Contains(">Losses</text>"));
  CHECK_THAT(svg, Contains("M1.csv, seed, sgd"));
  CHECK_THAT(svg, Contains("10<tspan dy=\"-6\" font-size=\"9\">\u221212</tspan>"));  // 1e-12
  CHECK_THAT(svg, Contains(">0.1</text>"));
  CHECK_THAT(svg, Contains(">20k</text>"));
  CHECK(svg.size() < 200000);  // 20001 points are reduced to the pixel columns
  CHECK(count(svg, "<path") == 1);
}

TEST_CASE("plot: zeros, negatives and non-finite values are skipped", "[plot]") {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  const std::string svg = convergence_svg({1, 0.5, 0, 0.25, nan, 0.1, -1, inf, 0.05, 0.01}, "t");
  well_formed(svg);
  CHECK(count(svg, "<path") == 1);
  CHECK(count(svg, "<circle") == 2);  // 0.25 and 0.1 stand alone between gaps
}

TEST_CASE("plot: one point, a constant loss, nothing plottable, an empty history", "[plot]") {
  const std::string one = convergence_svg({0.5}, "t");
  well_formed(one);
  CHECK(count(one, "<circle") == 1);
  well_formed(convergence_svg({3, 3, 3}, "t"));
  const std::string none = convergence_svg({0, std::numeric_limits<double>::quiet_NaN()}, "t");
  well_formed(none);
  CHECK_THAT(none, Contains("no positive finite loss values to plot"));
  well_formed(convergence_svg({}, ""));
}

TEST_CASE("plot: huge dynamic range thins the decade labels", "[plot]") {
  const std::string svg = convergence_svg({1e300, 1e-300}, "t");
  well_formed(svg);
  CHECK(count(svg, "text-anchor=\"end\"") <= 17);
}

TEST_CASE("plot: write_convergence_svg writes the file", "[plot]") {
  const auto p = std::filesystem::temp_directory_path() / "tapegrad-test-plot.svg";
  tapegrad::svd::write_convergence_svg(p.string(), {1, 0.1, 0.01}, "t");
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  CHECK(ss.str() == convergence_svg({1, 0.1, 0.01}, "t"));
  std::filesystem::remove(p);
}

TEST_CASE("plot: names that are not UTF-8 (a Latin-1 file name) keep the SVG well-formed XML", "[plot]") {
  // Every byte of the document must be well-formed UTF-8 for an XML parser; a Latin-1 é (0xE9) alone is not.
  auto valid_utf8 = [](const std::string& s) {
    for (std::size_t i = 0; i < s.size();) {
      const auto c = static_cast<unsigned char>(s[i]);
      const std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
      if (n == 0 || i + n > s.size()) return false;
      for (std::size_t k = 1; k < n; ++k)
        if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
      i += n;
    }
    return true;
  };
  const std::string svg =
      convergence_svg({1, 0.5}, "t", "na\xe9me.csv, tronqu\xc3, \xff\xfe, caf\xc3\xa9 \xe2\x82\xac");
  well_formed(svg);
  CHECK(valid_utf8(svg));
  CHECK_THAT(svg, Contains("na\xef\xbf\xbdme.csv"));                          // the Latin-1 byte as U+FFFD
  CHECK_THAT(svg, Contains("caf\xc3\xa9 \xe2\x82\xac"));                      // UTF-8 kept as it is
  CHECK_THAT(svg, Contains("tronqu\xef\xbf\xbd, \xef\xbf\xbd\xef\xbf\xbd"));  // a cut sequence, stray bytes
}
