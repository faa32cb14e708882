// Hessian-vector products against PyTorch 1.13's double-backward HVPs (tests/data/hvp/reference.json, made by
// tests/data/hvp/generate.py): random graphs over every op with second-order rules, literal and fused forms,
// shapes either side of the BLAS threshold, leaves used several times and shared subexpressions. Loss,
// gradient and H v within 1e-10 relative, with the graph optimizer on and off.
#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "tapegrad/autodiff.hpp"

using namespace tapegrad;
using M = Matrix<double>;

namespace {

M from_json(const nlohmann::json& j) {
  const auto rows = static_cast<Index>(j.size());
  const auto cols = rows ? static_cast<Index>(j[0].size()) : 0;
  M m(rows, cols);
  for (Index i = 0; i < rows; ++i)
    for (Index k = 0; k < cols; ++k)
      m(i, k) = j[static_cast<std::size_t>(i)][static_cast<std::size_t>(k)].get<double>();
  return m;
}

// ‖a - b‖ / ‖b‖ (absolute below 1e-300 norms), infinite for a shape mismatch.
double rel_error(const M& a, const M& b) {
  if (a.rows() != b.rows() || a.cols() != b.cols()) return std::numeric_limits<double>::infinity();
  return (a - b).norm() / std::max(b.norm(), 1e-300);
}

using Unary = Var<double> (*)(Var<double>);
using Binary = Var<double> (*)(Var<double>, Var<double>);

const std::map<std::string, Unary>& unary_ops() {
  static const std::map<std::string, Unary> ops = {{"square", square<double>},
                                                   {"exp", exp<double>},
                                                   {"log", log<double>},
                                                   {"sqrt", sqrt<double>},
                                                   {"abs", abs<double>},
                                                   {"relu", relu<double>},
                                                   {"tanh", tanh<double>},
                                                   {"sigmoid", sigmoid<double>},
                                                   {"sin", sin<double>},
                                                   {"cos", cos<double>},
                                                   {"log1p", log1p<double>},
                                                   {"expm1", expm1<double>},
                                                   {"softplus", softplus<double>},
                                                   {"neg", neg<double>},
                                                   {"transpose", transpose<double>},
                                                   {"diag", diag<double>},
                                                   {"sum", sum<double>},
                                                   {"mean", mean<double>},
                                                   {"sum_squares", sum_squares<double>},
                                                   {"norm", norm<double>},
                                                   {"rowwise_sum", rowwise_sum<double>},
                                                   {"colwise_sum", colwise_sum<double>},
                                                   {"rowwise_mean", rowwise_mean<double>},
                                                   {"colwise_mean", colwise_mean<double>},
                                                   {"rowwise_softmax", rowwise_softmax<double>},
                                                   {"colwise_softmax", colwise_softmax<double>},
                                                   {"rowwise_log_softmax", rowwise_log_softmax<double>},
                                                   {"colwise_log_softmax", colwise_log_softmax<double>},
                                                   {"logsumexp", logsumexp<double>},
                                                   {"rowwise_logsumexp", rowwise_logsumexp<double>},
                                                   {"colwise_logsumexp", colwise_logsumexp<double>},
                                                   {"max", max<double>},
                                                   {"min", min<double>},
                                                   {"rowwise_max", rowwise_max<double>},
                                                   {"colwise_min", colwise_min<double>},
                                                   {"crossprod", crossprod<double>},
                                                   {"tcrossprod", tcrossprod<double>}};
  return ops;
}

const std::map<std::string, Binary>& binary_ops() {
  static const std::map<std::string, Binary> ops = {
      {"add", add<double>},
      {"sub", sub<double>},
      {"mul", mul<double>},
      {"div", div<double>},
      {"matmul", matmul<double>},
      {"matmul_nt", matmul_nt<double>},
      {"scale_columns", scale_columns<double>},
      {"scale_rows", scale_rows<double>},
      {"mse", mse<double>},
      {"pow_matrix", pow<double>},
      {"maximum", maximum<double>},
      {"minimum", minimum<double>},
      {"cross_entropy", [](Var<double> a, Var<double> b) { return cross_entropy(a, b); }},
      {"binary_cross_entropy_with_logits", binary_cross_entropy_with_logits<double>}};
  return ops;
}

// Records a case's graph; the last node is the loss.
Var<double> record(Tape<double>& t, const nlohmann::json& nodes, std::vector<Parameter<double>>& params,
                   const std::vector<M>& consts) {
  std::vector<Var<double>> v;
  for (const auto& n : nodes) {
    const std::string op = n.at("op");
    auto in = [&](std::size_t k) { return v.at(n.at("in")[k].get<std::size_t>()); };
    const double s = n.contains("s") ? n.at("s").get<double>() : 0.0;
    if (op == "param")
      v.push_back(t.parameter(params.at(n.at("i").get<std::size_t>())));
    else if (op == "const")
      v.push_back(t.constant(consts.at(n.at("i").get<std::size_t>())));
    else if (op == "add_scalar")
      v.push_back(in(0) + s);
    else if (op == "mul_scalar")
      v.push_back(in(0) * s);
    else if (op == "rsub_scalar")
      v.push_back(s - in(0));
    else if (op == "rdiv_scalar")
      v.push_back(s / in(0));
    else if (op == "pow")
      v.push_back(pow(in(0), s));
    else if (op == "clamp")
      v.push_back(clamp(in(0), -0.5, 0.75));
    else if (op == "reshape")
      v.push_back(reshape(in(0), in(0).cols(), in(0).rows()));  // the transposed shape, column-major
    else if (op == "cat0")
      v.push_back(cat(in(0), in(1), 0));
    else if (op == "cat1")
      v.push_back(cat(in(0), in(1), 1));
    else if (op == "narrow")  // the first half of the rows (at least one)
      v.push_back(narrow(in(0), 0, 0, std::max<Index>(1, in(0).rows() / 2)));
    else if (op == "index_select")  // the columns in reverse, then the first again
    {
      std::vector<Index> ix;
      for (Index j = in(0).cols(); j-- > 0;) ix.push_back(j);
      ix.push_back(0);
      v.push_back(index_select(in(0), 1, ix));
    } else if (unary_ops().count(op))
      v.push_back(unary_ops().at(op)(in(0)));
    else if (binary_ops().count(op))
      v.push_back(binary_ops().at(op)(in(0), in(1)));
    else
      FAIL("unknown op in the reference: " << op);
  }
  return v.back();
}

}  // namespace

TEST_CASE("HVPs agree with PyTorch's double backward on random graphs") {
  std::ifstream in(std::string(TAPEGRAD_TEST_DATA_DIR) + "/hvp/reference.json");
  REQUIRE(in);
  const auto ref = nlohmann::json::parse(in);
  const auto& cases = ref.at("cases");
  REQUIRE(cases.size() >= 20);
  // Every op the reference uses is one this test records.
  for (const auto& op : ref.at("ops")) {
    const std::string name = op;
    const bool known = name == "param" || name == "const" || name == "add_scalar" || name == "mul_scalar" ||
                       name == "rsub_scalar" || name == "rdiv_scalar" || name == "pow" || name == "reshape" ||
                       name == "clamp" || name == "cat0" || name == "cat1" || name == "narrow" ||
                       name == "index_select" || unary_ops().count(name) || binary_ops().count(name);
    CHECK(known);
  }
  // ... and every op with second-order rules that this test records is in the reference.
  std::vector<std::string> wanted = {"clamp",       "add_scalar", "mul_scalar",  "rsub_scalar",
                                     "rdiv_scalar", "pow",        "reshape",     "cat0",
                                     "cat1",        "narrow",     "index_select"};
  for (const auto& [name, f] : unary_ops()) wanted.push_back(name);
  for (const auto& [name, f] : binary_ops()) wanted.push_back(name);
  for (const auto& name : wanted) {
    INFO(name);
    CHECK(std::find(ref.at("ops").begin(), ref.at("ops").end(), name) != ref.at("ops").end());
  }
  std::size_t fused = 0;
  for (const auto& c : cases) {
    for (bool optimize : {true, false}) {
      INFO(c.at("name").get<std::string>() << (optimize ? " (optimized)" : " (as recorded)"));
      std::vector<Parameter<double>> params;
      std::vector<M> consts, v;
      for (const auto& p : c.at("params")) params.emplace_back(from_json(p));
      for (const auto& x : c.at("consts")) consts.push_back(from_json(x));
      for (const auto& x : c.at("v")) v.push_back(from_json(x));
      std::vector<Parameter<double>*> ptrs;
      for (auto& p : params) ptrs.push_back(&p);
      HvpTape<double> h(
          [&](Tape<double>& t) {
            t.set_graph_optimization(optimize);
            return record(t, c.at("nodes"), params, consts);
          },
          ptrs);
      const auto& hv = h.hvp(v);
      CHECK(std::abs(h.loss() - c.at("loss").get<double>()) <= 1e-10 * std::abs(c.at("loss").get<double>()));
      for (std::size_t k = 0; k < params.size(); ++k) {
        const M g = from_json(c.at("grad")[k]), e = from_json(c.at("hv")[k]);
        INFO("parameter " << k);
        CHECK(rel_error(h.gradient()[k], g) <= 1e-10);
        CHECK(rel_error(hv[k], e) <= 1e-10);
      }
      if (optimize) {
        for (std::uint32_t i = 0; i < h.tape().size(); ++i)
          if (h.tape().runs(i) && h.tape().replaced_pattern(i)) ++fused;
      }
    }
  }
  CHECK(fused > 20);  // the graph optimizer's rewrites ran, so the fused ops' rules are what was compared
}
