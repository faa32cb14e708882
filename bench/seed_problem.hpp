// The seed problem of the SVD benchmarks (bench_svd.cpp, bench_formula.cpp): sizes, data, learning rate and
// the fewest FLOPs of one step, shared so that every seed benchmark times the same workload.
#pragma once

#include <array>
#include <cstdint>
#include <random>
#include <utility>

#include "tapegrad/autodiff.hpp"

namespace tapegrad::bench {

inline constexpr std::array<std::pair<Index, Index>, 4> kSeedSizes = {
    {{5, 4}, {64, 32}, {256, 128}, {1024, 512}}};

template <class T>
Matrix<T> uniform(Index r, Index c, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  return Matrix<double>::NullaryExpr(r, c, [&] { return u(rng); }).template cast<T>();
}

// The seed problem at size m×n: parameters and the matrix, living as long as the benchmark.
template <class T>
struct SeedProblem {
  SeedProblem(Index m, Index n)
      : M(uniform<T>(m, n, 1)), U(uniform<T>(m, n, 2)), d(uniform<T>(1, n, 3)), V(uniform<T>(n, n, 4)) {}
  Matrix<T> M;
  Parameter<T> U, d, V;
};

// SGD's learning rate for the seed step: the notebook's at 5x4; a small one keeps large problems finite over
// millions of steps (the work per step is the same). Momentum is 0.9.
inline double seed_lr(Index m) { return m <= 5 ? 0.9 : 1e-6; }

// The fewest FLOPs of the seed loss's products (the hand-written reference's): forward U S Vᵀ (2mn²),
// UᵀU and V Vᵀ as symmetric rank-k updates (mn², n³); backward two products for U S Vᵀ (4mn²) and one per
// Gram matrix (2mn², 2n³). The elementwise work (O(mn)) is not counted.
inline double seed_flops_forward(Index m, Index n) {
  return 2.0 * m * n * n + 1.0 * m * n * n + 1.0 * n * n * n;
}
inline double seed_flops_backward(Index m, Index n) {
  return 4.0 * m * n * n + 2.0 * m * n * n + 2.0 * n * n * n;
}

}  // namespace tapegrad::bench
