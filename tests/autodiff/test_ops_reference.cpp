// The ops PyTorch users reach for first, against PyTorch 1.13 (tests/data/ops/reference.json, made by
// make_reference.py next to it): on fixed inputs with ties, bounds hit and probabilities as targets, the
// value and every input's gradient of sum(C * W) agree within 1e-12 (relative to the largest entry, at least
// 1), in float64.
#include <catch2/catch.hpp>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "tapegrad/autodiff.hpp"

using namespace tapegrad;
using M = Matrix<double>;
using V = Var<double>;
using VS = std::vector<V>;

namespace {

M from_json(const nlohmann::json& j) {
  M m(Index(j.size()), j.empty() ? 0 : Index(j[0].size()));
  for (Index i = 0; i < m.rows(); ++i)
    for (Index k = 0; k < m.cols(); ++k) m(i, k) = j[std::size_t(i)][std::size_t(k)].get<double>();
  return m;
}

// Each case of make_reference.py, recorded the tapegrad way.
const std::map<std::string, std::function<V(const VS&)>>& ops() {
  static const std::map<std::string, std::function<V(const VS&)>> m = {
      {"cat dim 0", [](const VS& x) { return cat(x[0], x[1], 0); }},
      {"cat dim 1", [](const VS& x) { return cat(x[0], x[1], 1); }},
      {"narrow dim 0", [](const VS& x) { return narrow(x[0], 0, 1, 2); }},
      {"narrow dim 1", [](const VS& x) { return narrow(x[0], 1, 1, 2); }},
      {"index_select dim 0",
       [](const VS& x) {
         return index_select(x[0], 0, {3, 0, 3, 1});
       }},
      {"index_select dim 1",
       [](const VS& x) {
         return index_select(x[0], 1, {2, 2, 0});
       }},
      {"reshape", [](const VS& x) { return reshape(x[0], 2, 6); }},
      {"maximum", [](const VS& x) { return maximum(x[0], x[1]); }},
      {"minimum", [](const VS& x) { return minimum(x[0], x[1]); }},
      {"max", [](const VS& x) { return max(x[0]); }},
      {"min", [](const VS& x) { return min(x[0]); }},
      {"rowwise_max", [](const VS& x) { return rowwise_max(x[0]); }},
      {"colwise_max", [](const VS& x) { return colwise_max(x[0]); }},
      {"rowwise_min", [](const VS& x) { return rowwise_min(x[0]); }},
      {"colwise_min", [](const VS& x) { return colwise_min(x[0]); }},
      {"clamp", [](const VS& x) { return clamp(x[0], -0.5, 0.5); }},
      {"rowwise_softmax", [](const VS& x) { return rowwise_softmax(x[0]); }},
      {"colwise_softmax", [](const VS& x) { return colwise_softmax(x[0]); }},
      {"rowwise_log_softmax", [](const VS& x) { return rowwise_log_softmax(x[0]); }},
      {"colwise_log_softmax", [](const VS& x) { return colwise_log_softmax(x[0]); }},
      {"colwise_logsumexp", [](const VS& x) { return colwise_logsumexp(x[0]); }},
      {"logsumexp", [](const VS& x) { return logsumexp(x[0]); }},
      {"cross_entropy labels",
       [](const VS& x) {
         return cross_entropy(x[0], {3, 0, 1, 1, 2});
       }},
      {"cross_entropy probabilities", [](const VS& x) { return cross_entropy(x[0], x[1]); }},
      {"binary_cross_entropy_with_logits",
       [](const VS& x) { return binary_cross_entropy_with_logits(x[0], x[1]); }},
      {"sin", [](const VS& x) { return sin(x[0] * 3.0) / 3.0; }},
      {"cos", [](const VS& x) { return cos(x[0] * 3.0) / 3.0; }},
      {"log1p", [](const VS& x) { return log1p(x[0]); }},
      {"expm1", [](const VS& x) { return expm1(x[0]); }},
      {"softplus", [](const VS& x) { return softplus(x[0] * 4.0) / 4.0; }},
      {"pow", [](const VS& x) { return pow(x[0], x[1]); }},
  };
  return m;
}

double rel_diff(const M& a, const M& b) {
  REQUIRE(a.rows() == b.rows());
  REQUIRE(a.cols() == b.cols());
  if (a.size() == 0) return 0;
  return (a - b).cwiseAbs().maxCoeff() / std::max(1.0, b.cwiseAbs().maxCoeff());
}

}  // namespace

TEST_CASE("new ops agree with PyTorch 1.13 in value and gradient", "[ops][pytorch][new-ops]") {
  std::ifstream in(std::string(TAPEGRAD_TEST_DATA_DIR) + "/ops/reference.json");
  REQUIRE(in.good());
  const auto ref = nlohmann::json::parse(in);
  const auto& cases = ref.at("cases");
  REQUIRE(cases.size() == ops().size());  // every op here has its reference, and no reference is skipped
  for (bool optimize : {false, true}) {
    for (const auto& c : cases) {
      const std::string name = c.at("name");
      CAPTURE(name, optimize);
      REQUIRE(ops().count(name) == 1);
      std::vector<Parameter<double>> ps;
      for (const auto& x : c.at("inputs")) ps.emplace_back(from_json(x));
      Tape<double> t;
      t.set_graph_optimization(optimize);
      VS xs;
      for (auto& p : ps) xs.push_back(t.parameter(p));
      V out = ops().at(name)(xs);
      t.backward(out, from_json(c.at("weight")));
      CHECK(rel_diff(out.value(), from_json(c.at("value"))) <= 1e-12);
      for (std::size_t k = 0; k < ps.size(); ++k) {
        CAPTURE(k);
        CHECK(rel_diff(ps[k].grad, from_json(c.at("grads")[k])) <= 1e-12);
      }
    }
  }
}
