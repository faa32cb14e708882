// The random graphs' generator (test_random_graphs.cpp): a program made from a seed, with a strong bias
// toward the formulas the graph optimizer rewrites (transposes and diags feeding matmuls, square(a - b)
// feeding mean/sum, nodes with several uses, the same node on both sides of a product, patterns nested in
// patterns). It runs each instruction as it makes it (on a tape with the optimizer off) to keep the values in
// a safe range: an operand whose entries exceed 4 in magnitude is scaled by a power of two first, and log,
// sqrt, fractional powers and divisors only take nodes that are positive by construction (exp, sigmoid,
// square + 0.5, ...). The nodes it builds on are in generator.cpp, the moves in generator_moves.cpp.
#pragma once

#include <cstdint>
#include <iterator>
#include <random>
#include <vector>

#include "program.hpp"
#include "tapegrad/autodiff.hpp"

namespace tapegrad::test::random_graphs {

class Generator {
 public:
  // `length`: how many instructions to record before the graph is reduced to its root. Two lengths with one
  // seed give two graphs with a common beginning.
  Generator(std::uint64_t seed, int length);

  // The program: one to four parameters, moves until `length` instructions, then the root.
  Program make();

 private:
  struct Info {
    Index r = 0, c = 0;
    bool pos = false, nonneg = false;  // by construction (for any parameter values), not by value
    double maxabs = 0;
    int uses = 0;
    Op op = Op::param;
    int a = -1;
    int safe = -1;  // the scaled copy of this node, once made
  };

  std::mt19937_64 rng_;
  int length_;
  Program p_;
  Tape<double> shadow_;
  std::vector<Parameter<double>> sp_;
  std::vector<Var<double>> sv_;
  std::vector<Info> info_;
  std::vector<Index> dims_;
  std::vector<int> params_;

  int uni(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  double real(double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng_); }
  bool coin(double p) { return real(0, 1) < p; }
  Index dim() { return dims_[static_cast<std::size_t>(uni(0, int(dims_.size()) - 1))]; }
  template <class V>
  auto any(const V& v) {
    return v[static_cast<std::size_t>(uni(0, static_cast<int>(std::size(v)) - 1))];
  }
  const Info& at(int x) const { return info_[static_cast<std::size_t>(x)]; }
  Info& at(int x) { return info_[static_cast<std::size_t>(x)]; }
  int size() const { return static_cast<int>(info_.size()); }
  bool vector_of(int x, Index n) const { return (at(x).r == 1 || at(x).c == 1) && at(x).r * at(x).c == n; }

  // ---- nodes to build on (generator.cpp) ----

  Matrix<double> random_matrix(Index r, Index c, double lo, double hi);
  // Records one instruction (in the program and on the shadow tape) and its node's Info.
  int emit(Op op, int a = -1, int b = -1, double s = 0);
  // x, or x scaled by a power of two so its entries are at most 4 in magnitude (exp of it stays moderate).
  int safe(int x);
  int constant(const Matrix<double>& m);
  // A node to compute on: mostly a recent one or a parameter, rarely a 1x1 one.
  int pick();
  // A node of the shape (r or c negative: any), if one exists and the coin says so.
  int pick_shape(Index r, Index c, double p = 0.75);
  // x made r x c: a product with a constant on either side (sometimes written with a transposed constant,
  // sometimes a mean over rows or columns).
  int adapt(int x, Index r, Index c);
  // A node of shape r x c (negative: any).
  int make(Index r, Index c);
  // A vector of n entries (a row or a column), often made from `from` itself (a second use of it).
  int vec(Index n, int from = -1);
  // A node positive by construction, made from x.
  int positive(int x);
  // The transpose of x: sometimes one already recorded (a transpose with several uses).
  int tr(int x);

  // The root: a sum of loss terms of every node nothing uses yet, or (sometimes) a matrix node with a root
  // gradient.
  void finish();

  // ---- moves: each records a few nodes (generator_moves.cpp) ----

  int mm_nt();  // matmul(A, transpose(B)), B = A: tcrossprod
  int mm_tn();  // matmul(transpose(A), B), B = A: crossprod
  int mm_tt();
  int crossprod_like();
  int scale_cols();     // matmul(A, diag(v)), v sometimes square(d)
  int scale_rows_();    // matmul(diag(v), B)
  int nested();         // matmul(matmul(U, diag(square(d))), transpose(V)), and other nestings
  int plain_mm();       // matmul of nodes already recorded, preferring transposes and diags (several uses)
  int fused_by_name();  // the fused ops called by name: never rewritten
  int diag_move();
  int binary();
  // An activation of a sum (a layer's bias and nonlinearity): add_tanh, add_sigmoid, add_relu.
  int activation();
  int scalar_op();
  int unary();
  int reduce_vec();
  // A 1x1 loss term of x: the reduction patterns (and a few that are not).
  int loss_of(int x);
  // The ops PyTorch users reach for first: shaping, max/min, clamp, softmax and its losses (with the literal
  // log(softmax) and cross-entropy formulas the optimizer fuses), the new elementwise functions.
  int new_op();
  // One move, chosen with weights that favour the rewrite patterns.
  void move();
};

}  // namespace tapegrad::test::random_graphs
