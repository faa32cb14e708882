// write_dot: a tape as Graphviz DOT, with parameters, constants and ops told apart and the nodes
// that need a gradient marked.
#include <catch2/catch.hpp>
#include <sstream>
#include <string>

#include "tapegrad/autodiff.hpp"

using namespace tapegrad;

namespace {
std::size_t count(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (auto p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}
/// The line that declares node i ("  n3 [label=...").
std::string node_line(const std::string& dot, int i) {
  const std::string key = "  n" + std::to_string(i) + " [";
  const auto p = dot.find(key);
  REQUIRE(p != std::string::npos);
  return dot.substr(p, dot.find('\n', p) - p);
}
}  // namespace

TEST_CASE("write_dot draws every node with its op, shape and kind", "[graphviz]") {
  Parameter<double> w(Matrix<double>::Ones(3, 2));
  Tape<double> t;
  auto x = t.constant(Matrix<double>::Ones(5, 3));       // #0 constant
  auto W = t.parameter(w);                               // #1 parameter
  auto y = matmul(x, W);                                 // #2 needs a gradient
  auto c = exp(t.constant(Matrix<double>::Zero(5, 2)));  // #3 constant, #4 op without gradient
  auto loss = mse(y, c);                                 // #5
  t.backward(loss);

  std::ostringstream s;
  write_dot(t, s);
  const std::string dot = s.str();
  CHECK(dot.rfind("digraph tape {", 0) == 0);
  CHECK(dot.substr(dot.size() - 2) == "}\n");
  CHECK(count(dot, "shape=") == 6);  // one per node; edges have no shape
  CHECK(count(dot, " -> ") == 5);

  CHECK(node_line(dot, 0).find("constant #0\\n5x3") != std::string::npos);
  CHECK(node_line(dot, 0).find("dashed") != std::string::npos);
  CHECK(node_line(dot, 1).find("parameter \xE2\x88\x87 #1\\n3x2") != std::string::npos);
  CHECK(node_line(dot, 1).find("shape=box") != std::string::npos);
  CHECK(node_line(dot, 1).find("#9ecae1") != std::string::npos);
  CHECK(node_line(dot, 2).find("matmul \xE2\x88\x87 #2\\n5x2") != std::string::npos);
  CHECK(node_line(dot, 2).find("#fdd0a2") != std::string::npos);
  CHECK(node_line(dot, 2).find("penwidth=2") != std::string::npos);
  CHECK(node_line(dot, 4).find("exp #4\\n5x2") != std::string::npos);  // no gradient: no ∇, white
  CHECK(node_line(dot, 4).find("#ffffff") != std::string::npos);
  CHECK(node_line(dot, 4).find("penwidth") == std::string::npos);
  CHECK(node_line(dot, 5).find("mse \xE2\x88\x87 #5\\n1x1 = ") != std::string::npos);

  // Two-input ops label their edges with the input position; gradient-free edges are dotted.
  CHECK(dot.find("n0 -> n2 [label=\"0\", style=dotted") != std::string::npos);
  CHECK(dot.find("n1 -> n2 [label=\"1\"];") != std::string::npos);
  CHECK(dot.find("n3 -> n4 [style=dotted") != std::string::npos);
  CHECK(dot.find("n2 -> n5 [label=\"0\"];") != std::string::npos);
}

TEST_CASE("write_dot from a root draws only its ancestors", "[graphviz]") {
  Parameter<float> p(Matrix<float>::Ones(2, 2));
  Tape<float> t;
  auto a = t.parameter(p);     // #0
  auto unrelated = square(a);  // #1: not an ancestor of the root
  auto root = sum(tanh(a));    // #2, #3
  (void)unrelated;
  DotOptions o;
  o.title = "a \"quoted\" title";
  o.indices = false;
  o.scalar_values = false;
  const std::string dot = to_dot(t, root, o);
  CHECK(count(dot, "shape=") == 3);
  CHECK(dot.find("n1 ") == std::string::npos);
  CHECK(dot.find("label=\"a \\\"quoted\\\" title\"") != std::string::npos);
  CHECK(node_line(dot, 3).find("peripheries=2") != std::string::npos);
  CHECK(node_line(dot, 3).find("sum \xE2\x88\x87\\n1x1\"") != std::string::npos);
  CHECK(node_line(dot, 2).find("peripheries") == std::string::npos);
}

TEST_CASE("write_dot refuses a stale or foreign root", "[graphviz]") {
  Tape<double> t, other;
  auto a = t.scalar(1.0);
  auto b = other.scalar(2.0);
  std::ostringstream s;
  CHECK_THROWS_AS(write_dot(t, s, b), TapeError);
  t.clear();
  CHECK_THROWS_AS(write_dot(t, s, a), TapeError);
  // An empty tape is an empty graph.
  write_dot(t, s);
  CHECK(s.str().find("digraph tape {") != std::string::npos);
}
