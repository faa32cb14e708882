// Running a random graph's program and comparing (test_random_graphs.cpp): the reference is the graph as
// written (optimizer off), with, in float, how far its own rounding takes it from the same graph in double;
// Checker collects the differences of one graph.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "program.hpp"
#include "tapegrad/autodiff.hpp"

namespace tapegrad::test::random_graphs {

template <class T>
struct Cast {
  std::vector<Matrix<T>> params, constants;
  Matrix<T> root_grad;
  Cast() = default;
  explicit Cast(const Program& p) {
    for (const auto& m : p.params) params.push_back(m.template cast<T>());
    for (const auto& m : p.constants) constants.push_back(m.template cast<T>());
    root_grad = p.root_grad.template cast<T>();
  }
};

template <class T>
std::vector<Parameter<T>> make_params(const std::vector<Matrix<T>>& values) {
  std::vector<Parameter<T>> ps;
  ps.reserve(values.size());
  for (const auto& m : values) ps.emplace_back(m);
  return ps;
}

template <class T>
void backward(Tape<T>& t, const Program& p, const std::vector<Var<T>>& v, const Cast<T>& c) {
  const auto& root = v[static_cast<std::size_t>(p.root)];
  if (p.root_grad.size())
    t.backward(root, c.root_grad);
  else
    t.backward(root);
}

// An expected matrix, and how far the reference's own rounding takes it from the exact result: in float, the
// distance to the same graph run in double (a graph that cancels much has a large one); 0 in double.
template <class T>
struct Want {
  Matrix<T> m;
  T slack = 0;
};

// What the graph as written gives (optimizer off): the loss, the parameters' gradients, every node's value
// and the gradient of every node on a path from the root to a parameter.
template <class T>
struct Reference {
  Want<T> loss;
  std::vector<Want<T>> grads, values, node_grads;
};

template <class T>
Reference<T> reference(const Program& p, const Cast<T>& c, const std::vector<Matrix<T>>& param_values) {
  Tape<T> t;
  t.set_graph_optimization(false);
  auto ps = make_params(param_values);
  const auto v = record(t, p, ps, c.constants);
  backward(t, p, v, c);
  Reference<T> r;
  r.loss.m = v[static_cast<std::size_t>(p.root)].value();
  for (const auto& q : ps) r.grads.push_back({q.grad});
  r.values.resize(v.size());
  r.node_grads.resize(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    r.values[i].m = v[i].value();
    if (p.on_path[i] && p.needs_grad[i]) r.node_grads[i].m = v[i].grad();
  }
  if constexpr (std::is_same_v<T, float>) {
    // The same inputs (the float ones) in double.
    Cast<double> w;
    for (const auto& m : c.constants) w.constants.push_back(m.template cast<double>());
    w.root_grad = c.root_grad.template cast<double>();
    std::vector<Matrix<double>> values;
    for (const auto& m : param_values) values.push_back(m.template cast<double>());
    const Reference<double> d = reference<double>(p, w, values);
    auto slack = [](Want<float>& f, const Want<double>& e) {
      if (f.m.size() && f.m.rows() == e.m.rows() && f.m.cols() == e.m.cols())
        f.slack = static_cast<float>((f.m.template cast<double>() - e.m).cwiseAbs().maxCoeff());
    };
    slack(r.loss, d.loss);
    for (std::size_t k = 0; k < r.grads.size(); ++k) slack(r.grads[k], d.grads[k]);
    for (std::size_t i = 0; i < v.size(); ++i) {
      slack(r.values[i], d.values[i]);
      slack(r.node_grads[i], d.node_grads[i]);
    }
  }
  return r;
}

// Collects the differences of one graph: max |got - want| > tol * max(max |want|, 1e-2) + 8 * want's slack.
// A difference beyond hard_tol * max(max |want|, 1) is not rounding (in double, every difference is hard).
template <class T>
struct Checker {
  T tol, hard_tol;
  std::string failures;
  bool hard = false;
  void near(const std::string& what, const Matrix<T>& got, const Want<T>& w) {
    const Matrix<T>& want = w.m;
    if (got.rows() != want.rows() || got.cols() != want.cols()) {
      hard = true;
      failures += what + ": shape " + shape_string(got.rows(), got.cols()) + ", expected " +
                  shape_string(want.rows(), want.cols()) + "\n";
      return;
    }
    if (want.size() == 0) return;
    const T err = (got - want).cwiseAbs().maxCoeff();
    const T scale = std::max(want.cwiseAbs().maxCoeff(), T(1e-2));
    if (!(err <= tol * scale + 8 * w.slack)) {
      hard = hard || !(err <= hard_tol * std::max(scale, T(1)) + 8 * w.slack);
      std::ostringstream o;
      o << what << ": max difference " << err << " (relative " << err / scale << ", reference's own error "
        << w.slack << ")";
      if (want.size() <= 4)
        o << "; got [" << got.reshaped().transpose() << "], expected [" << want.reshaped().transpose() << "]";
      failures += o.str() + "\n";
    }
  }
  void equal(const std::string& what, const Matrix<T>& got, const Matrix<T>& want) {
    if (got.rows() != want.rows() || got.cols() != want.cols() || got != want) {
      failures += what + ": changed\n";
      hard = true;
    }
  }
  void grads(const std::string& when, const std::vector<Parameter<T>>& ps, const Reference<T>& r) {
    for (std::size_t k = 0; k < ps.size(); ++k)
      near(when + ": gradient of parameter " + std::to_string(k), ps[k].grad, r.grads[k]);
  }
};

template <class T>
bool finite(const Reference<T>& r) {
  auto ok = [](const Want<T>& w) { return w.m.allFinite(); };
  return ok(r.loss) && std::all_of(r.grads.begin(), r.grads.end(), ok) &&
         std::all_of(r.values.begin(), r.values.end(), ok) &&
         std::all_of(r.node_grads.begin(), r.node_grads.end(), ok);
}

// p with one op replaced by another of the same shape (tanh by relu, mean by sum, add by mul, ...): a graph
// of the same size that differs from some node on, so a tape that recorded p must plan it anew.
inline Program swap_one(const Program& p, std::mt19937_64& rng) {
  static const std::vector<std::vector<Op>> families = {
      {Op::tanh, Op::sigmoid, Op::relu, Op::abs, Op::neg, Op::square, Op::exp},
      {Op::add, Op::sub, Op::mul},
      {Op::sum, Op::mean, Op::norm, Op::sum_squares},
      {Op::colwise_sum, Op::colwise_mean},
      {Op::rowwise_sum, Op::rowwise_mean}};
  std::vector<std::pair<std::size_t, const std::vector<Op>*>> cand;
  for (std::size_t i = 0; i < p.code.size(); ++i)
    for (const auto& f : families)
      if (std::find(f.begin(), f.end(), p.code[i].op) != f.end()) cand.emplace_back(i, &f);
  Program q = p;
  if (cand.empty()) return q;
  const auto [i, f] = cand[std::uniform_int_distribution<std::size_t>(0, cand.size() - 1)(rng)];
  Op op = q.code[i].op;
  while (op == q.code[i].op) op = (*f)[std::uniform_int_distribution<std::size_t>(0, f->size() - 1)(rng)];
  q.code[i].op = op;
  q.finish();
  return q;
}

struct Stats {
  std::map<std::string, int> fused;     // run_op_name of rewritten nodes
  std::map<std::string, int> patterns;  // replaced_pattern
  int graphs = 0, nodes = 0, observed = 0;
  int float_rounding = 0;  // float graphs off by more than 1e-4 but not 1e-2, exact in double
};

inline std::string node_name(const Program& p, std::size_t i) {
  return "node " + std::to_string(i) + " (" + op_str(p.code[i].op) + ")";
}

}  // namespace tapegrad::test::random_graphs
