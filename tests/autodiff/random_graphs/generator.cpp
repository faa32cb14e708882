// The random graphs' generator (generator.hpp): the graph as a whole (make, finish) and the nodes the moves
// build on: a node of a shape, a vector, a positive node, a transpose, each node's bookkeeping (emit).
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "generator.hpp"

namespace tapegrad::test::random_graphs {

Generator::Generator(std::uint64_t seed, int length) : rng_(seed), length_(length) {
  shadow_.set_graph_optimization(false);
  sp_.reserve(4);
}

Program Generator::make() {
  // A few dimensions per graph, so shapes fit often; small ones (Eigen), large ones (BLAS: 16³ multiply-
  // adds and up), or both.
  static const std::vector<Index> small = {1, 2, 3, 4, 5, 6}, large = {12, 16, 17, 20, 24, 32};
  const int size_class = uni(0, 2);
  const int ndims = uni(2, 4);
  for (int k = 0; k < ndims; ++k) {
    const bool big = size_class == 1 || (size_class == 2 && coin(0.5));
    const auto& from = big ? large : small;
    dims_.push_back(from[static_cast<std::size_t>(uni(0, int(from.size()) - 1))]);
  }
  const int nparams = uni(1, 4);
  for (int k = 0; k < nparams; ++k) {
    Index r = dim(), c = dim();
    const double u = real(0, 1);
    if (u < 0.12)
      r = c = 1;
    else if (u < 0.25)
      r = 1;
    else if (u < 0.35)
      c = 1;
    Matrix<double> m = random_matrix(r, c, -1, 1);
    p_.params.push_back(m);
    sp_.emplace_back(m);
    params_.push_back(emit(Op::param, k));
  }
  while (static_cast<int>(p_.code.size()) < length_) move();
  finish();
  p_.finish();
  return std::move(p_);
}

Matrix<double> Generator::random_matrix(Index r, Index c, double lo, double hi) {
  Matrix<double> m(r, c);
  for (Index j = 0; j < c; ++j)
    for (Index i = 0; i < r; ++i) m(i, j) = real(lo, hi);
  return m;
}

int Generator::emit(Op op, int a, int b, double s) {
  p_.code.push_back({op, a, b, s});
  sv_.push_back(apply<double>(shadow_, p_.code.back(), sv_, sp_, p_.constants));
  const Matrix<double>& x = sv_.back().value();
  if (!x.allFinite()) throw std::logic_error("the generator made a non-finite value:\n" + p_.listing());
  Info in;
  in.r = x.rows();
  in.c = x.cols();
  in.maxabs = x.size() ? x.cwiseAbs().maxCoeff() : 0.0;
  in.op = op;
  in.a = a;
  const bool leaf = op == Op::param || op == Op::constant;
  if (!leaf) {
    if (a >= 0) ++at(a).uses;
    if (b >= 0) ++at(b).uses;
  }
  auto P = [&](int k) { return k >= 0 && at(k).pos; };
  auto N = [&](int k) { return k >= 0 && (at(k).pos || at(k).nonneg); };
  switch (op) {
    case Op::constant:
      in.pos = x.size() && x.minCoeff() > 0;
      in.nonneg = x.size() && x.minCoeff() >= 0;
      break;
    case Op::exp:
    case Op::sigmoid:
    case Op::rowwise_softmax:
    case Op::colwise_softmax:
    case Op::softplus:
      in.pos = true;
      break;
    case Op::cross_entropy:
    case Op::cross_entropy_p:
    case Op::bce_logits:
      in.nonneg = true;
      break;
    case Op::cat:
    case Op::maximum:
      in.pos =
          (P(a) && P(b)) || (at(a).r == at(b).r && at(a).c == at(b).c && op == Op::maximum && (P(a) || P(b)));
      in.nonneg = (N(a) && N(b)) || (op == Op::maximum && (N(a) || N(b)));
      break;
    case Op::minimum:
      in.pos = P(a) && P(b);
      in.nonneg = N(a) && N(b);
      break;
    case Op::narrow:
    case Op::index_select:
    case Op::reshape:
    case Op::max_all:
    case Op::min_all:
    case Op::rowwise_max:
    case Op::colwise_max:
    case Op::rowwise_min:
    case Op::colwise_min:
      in.pos = P(a);
      in.nonneg = N(a);
      break;
    case Op::square:
    case Op::abs:
    case Op::relu:
    case Op::norm:
    case Op::mse:
    case Op::sum_squares:
      in.nonneg = true;
      break;
    case Op::add_s:
      in.pos = N(a) && s > 0;
      in.nonneg = N(a) && s >= 0;
      break;
    case Op::mul_s:
      in.pos = P(a) && s > 0;
      in.nonneg = N(a) && s >= 0;
      break;
    case Op::s_div:
      in.pos = P(a) && s > 0;
      break;
    case Op::add:
      in.pos = (P(a) && N(b)) || (N(a) && P(b));
      in.nonneg = N(a) && N(b);
      break;
    case Op::mul:
    case Op::matmul:
    case Op::matmul_nt:
    case Op::scale_columns:
    case Op::scale_rows:
    case Op::div:
      in.pos = P(a) && P(b);
      in.nonneg = N(a) && N(b);
      break;
    case Op::sqrt:
    case Op::transpose:
    case Op::sum:
    case Op::mean:
    case Op::colwise_sum:
    case Op::rowwise_sum:
    case Op::colwise_mean:
    case Op::rowwise_mean:
      in.pos = P(a);
      in.nonneg = N(a);
      break;
    case Op::pow:
      in.pos = P(a);
      in.nonneg = N(a) || s == 2;
      break;
    case Op::diag:  // a vector's diag has zeros; a matrix's diagonal is its entries
      in.pos = P(a) && at(a).r > 1 && at(a).c > 1;
      in.nonneg = N(a);
      break;
    case Op::crossprod:
    case Op::tcrossprod:
      in.pos = P(a);
      break;
    default:
      break;
  }
  info_.push_back(in);
  return size() - 1;
}

int Generator::safe(int x) {
  if (at(x).maxabs <= 4) return x;
  if (at(x).safe >= 0) return at(x).safe;
  const double s = std::ldexp(1.0, -static_cast<int>(std::ceil(std::log2(at(x).maxabs / 2))));
  const int y = emit(Op::mul_s, x, -1, s);
  at(x).safe = y;
  return y;
}

int Generator::constant(const Matrix<double>& m) {
  p_.constants.push_back(m);
  return emit(Op::constant, static_cast<int>(p_.constants.size()) - 1);
}

int Generator::pick() {
  int x = 0;
  for (int attempt = 0; attempt < 3; ++attempt) {
    const double u = real(0, 1);
    if (u < 0.45)
      x = size() - 1 - uni(0, std::min(size(), 8) - 1);
    else if (u < 0.65)
      x = any(params_);
    else
      x = uni(0, size() - 1);
    if (at(x).r * at(x).c > 1) break;
  }
  return safe(x);
}

int Generator::pick_shape(Index r, Index c, double p) {
  std::vector<int> cand;
  for (int x = 0; x < size(); ++x)
    if ((r < 0 || at(x).r == r) && (c < 0 || at(x).c == c)) cand.push_back(x);
  if (cand.empty() || !coin(p)) return -1;
  return safe(any(cand));
}

int Generator::adapt(int x, Index r, Index c) {
  if (at(x).r != r) {
    const Index q = at(x).r;
    const double k = 1 / std::sqrt(double(q));
    if (r == 1 && coin(0.3))
      x = emit(Op::colwise_mean, x);
    else if (coin(0.5))
      x = emit(Op::matmul, constant(random_matrix(r, q, -k, k)), x);
    else
      x = emit(Op::matmul, emit(Op::transpose, constant(random_matrix(q, r, -k, k))), x);
  }
  if (at(x).c != c) {
    const Index q = at(x).c;
    const double k = 1 / std::sqrt(double(q));
    if (c == 1 && coin(0.3))
      x = emit(Op::rowwise_mean, x);
    else if (coin(0.5))
      x = emit(Op::matmul, x, constant(random_matrix(q, c, -k, k)));
    else
      x = emit(Op::matmul, x, emit(Op::transpose, constant(random_matrix(c, q, -k, k))));
  }
  return safe(x);
}

int Generator::make(Index r, Index c) {
  const int x = pick_shape(r, c);
  if (x >= 0) return x;
  if (coin(0.2)) return constant(random_matrix(r < 0 ? dim() : r, c < 0 ? dim() : c, -1, 1));
  const int y = pick();
  return adapt(y, r < 0 ? at(y).r : r, c < 0 ? at(y).c : c);
}

int Generator::vec(Index n, int from) {
  if (from >= 0 && coin(0.4)) {
    if (at(from).c == n) return safe(emit(coin(0.5) ? Op::colwise_mean : Op::colwise_sum, from));
    if (at(from).r == n) return safe(emit(coin(0.5) ? Op::rowwise_mean : Op::rowwise_sum, from));
  }
  std::vector<int> cand;
  for (int x = 0; x < size(); ++x)
    if (vector_of(x, n)) cand.push_back(x);
  if (!cand.empty() && coin(0.6)) return safe(any(cand));
  const int sq = pick_shape(n, n, 0.3);
  if (sq >= 0 && n > 1) return emit(Op::diag, sq);  // a square matrix's diagonal
  if (coin(0.3)) return constant(coin(0.5) ? random_matrix(1, n, -1, 1) : random_matrix(n, 1, -1, 1));
  return coin(0.5) ? make(1, n) : make(n, 1);
}

int Generator::positive(int x) {
  if (at(x).pos) return x;
  switch (uni(0, 4)) {
    case 0:
      return emit(Op::exp, x);
    case 1:
      return emit(Op::sigmoid, x);
    case 2:
      return emit(Op::add_s, emit(Op::square, x), -1, 0.5);
    case 3:
      return emit(Op::add_s, emit(Op::abs, x), -1, 0.5);
    default:
      return emit(Op::add_s, emit(Op::relu, x), -1, 1.0);
  }
}

int Generator::tr(int x) {
  if (coin(0.35)) {
    for (int y = size() - 1; y >= 0; --y)
      if (at(y).op == Op::transpose && at(y).a == x) return y;
  }
  return emit(Op::transpose, x);
}

void Generator::finish() {
  std::vector<int> dangling;
  for (int x = 0; x < size(); ++x)
    if (at(x).uses == 0 && at(x).op != Op::param && at(x).op != Op::constant) dangling.push_back(x);
  if (dangling.empty()) dangling.push_back(pick());
  if (coin(0.15)) {
    int root = -1;
    for (int x : dangling)
      if (at(x).r * at(x).c > 1) root = x;
    if (root < 0) root = emit(Op::mul_s, pick(), -1, 1.5);
    if (at(root).r * at(root).c > 1) {
      p_.root = root;
      p_.root_grad = random_matrix(at(root).r, at(root).c, -1, 1);
      return;
    }
  }
  std::vector<int> terms;
  for (int x : dangling) terms.push_back(at(x).r * at(x).c == 1 ? x : loss_of(x));
  int loss = terms[0];
  for (std::size_t k = 1; k < terms.size(); ++k) {
    switch (uni(0, 2)) {
      case 0:
        loss = emit(Op::add, loss, terms[k], 1.0);
        break;
      case 1:
        loss = emit(Op::sub, loss, terms[k], 1.0);
        break;
      default:
        loss = emit(Op::add, loss, emit(Op::mul_s, terms[k], -1, real(0.1, 1)));
        break;
    }
  }
  p_.root = loss;
}

}  // namespace tapegrad::test::random_graphs
