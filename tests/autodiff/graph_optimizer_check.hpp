// Helpers of the graph optimizer tests (test_graph_optimizer_*.cpp): a graph recorded on parameters and run
// with the optimizer on or off (run), and the relative difference its results are compared with.
#pragma once

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <functional>
#include <random>
#include <type_traits>
#include <vector>

#include "tapegrad/autodiff.hpp"

namespace tapegrad::test {

template <class T>
Matrix<T> random_matrix(Index r, Index c, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  Matrix<double> m(r, c);
  for (Index j = 0; j < c; ++j)
    for (Index i = 0; i < r; ++i) m(i, j) = u(rng);
  return m.cast<T>();
}

template <class T>
T tolerance() {
  return std::is_same_v<T, float> ? T(2e-5) : T(1e-12);
}

// max |a - b| / max(1, max |b|)
template <class T>
T rel_diff(const Matrix<T>& a, const Matrix<T>& b) {
  REQUIRE(a.rows() == b.rows());
  REQUIRE(a.cols() == b.cols());
  if (a.size() == 0) return T(0);
  return (a - b).cwiseAbs().maxCoeff() / std::max(T(1), b.cwiseAbs().maxCoeff());
}

template <class T>
using Graph = std::function<Var<T>(Tape<T>&, const std::vector<Var<T>>&)>;

// What a graph gives: the root's value and every parameter's gradient.
template <class T>
struct Outcome {
  Matrix<T> value;
  std::vector<Matrix<T>> grads;
};

// Records `g` on parameters with the given initial values, with the optimizer on or off; backward from the
// root (1x1: seed 1; otherwise a fixed random seed, so no gradient is accidentally symmetric).
template <class T>
Outcome<T> run(const Graph<T>& g, const std::vector<Matrix<T>>& xs, bool optimize, Tape<T>* keep = nullptr) {
  std::vector<Parameter<T>> params;
  for (const auto& x : xs) params.emplace_back(x);
  Tape<T> local;
  Tape<T>& t = keep ? *keep : local;
  t.set_graph_optimization(optimize);
  std::vector<Var<T>> in;
  for (auto& p : params) in.push_back(t.parameter(p));
  Var<T> root = g(t, in);
  if (root.rows() == 1 && root.cols() == 1)
    t.backward(root);
  else
    t.backward(root, random_matrix<T>(root.rows(), root.cols(), 99));
  Outcome<T> o{root.value(), {}};
  for (auto& p : params) o.grads.push_back(p.grad);
  return o;
}

}  // namespace tapegrad::test
