// The random graphs' generator's moves (generator.hpp): each records a few nodes, most of them a formula
// the graph optimizer rewrites (or one it must not), and move() picks one with weights.
#include <utility>
#include <vector>

#include "generator.hpp"

namespace tapegrad::test::random_graphs {

int Generator::mm_nt() {
  const int A = pick();
  const int B = coin(0.15) ? A : make(-1, at(A).c);
  return emit(Op::matmul, A, tr(B));
}

int Generator::mm_tn() {
  const int A = pick();
  const int B = coin(0.15) ? A : make(at(A).r, -1);
  return emit(Op::matmul, tr(A), B);
}

int Generator::mm_tt() {
  const int A = pick();
  const int B = coin(0.1) && at(A).r == at(A).c ? A : make(-1, at(A).r);
  return emit(Op::matmul, tr(A), tr(B));
}

int Generator::crossprod_like() {
  const int A = pick();
  return coin(0.5) ? emit(Op::matmul, tr(A), A) : emit(Op::matmul, A, tr(A));
}

int Generator::scale_cols() {
  const int A = pick();
  int v = vec(at(A).c, A);
  if (coin(0.3)) v = emit(Op::square, v);
  if (coin(0.15)) v = emit(Op::transpose, v);
  return emit(Op::matmul, A, emit(Op::diag, v));
}

int Generator::scale_rows_() {
  const int B = pick();
  int v = vec(at(B).r, B);
  if (coin(0.3)) v = emit(Op::square, v);
  return emit(Op::matmul, emit(Op::diag, v), B);
}

int Generator::nested() {
  const int U = pick();
  const int d = vec(at(U).c, U);
  const int inner = emit(Op::matmul, U, emit(Op::diag, coin(0.7) ? emit(Op::square, d) : d));
  switch (uni(0, 3)) {
    case 0:
      return emit(Op::matmul, inner, tr(make(-1, at(U).c)));
    case 1:
      return emit(Op::matmul, tr(inner), make(at(U).r, -1));  // matmul(transpose(scale_columns), B)
    case 2:
      return emit(Op::matmul, inner, tr(inner));  // tcrossprod of a scale_columns
    default: {
      const int s = emit(Op::square, emit(Op::sub, inner, make(at(inner).r, at(inner).c)));
      return emit(coin(0.5) ? Op::mean : Op::sum, s);  // mse of a scale_columns
    }
  }
}

int Generator::plain_mm() {
  std::vector<int> special;
  for (int x = 0; x < size(); ++x)
    if ((at(x).op == Op::transpose || at(x).op == Op::diag) && at(x).maxabs <= 4) special.push_back(x);
  if (!special.empty() && coin(0.7)) {
    const int S = any(special);
    if (coin(0.15) && at(S).r == at(S).c) return emit(Op::matmul, S, S);  // the same node on both sides
    std::vector<int> fit;
    for (int x : special)
      if (at(x).r == at(S).c) fit.push_back(x);
    if (coin(0.5)) return emit(Op::matmul, S, !fit.empty() && coin(0.5) ? any(fit) : make(at(S).c, -1));
    return emit(Op::matmul, make(-1, at(S).r), S);
  }
  const int A = pick();
  if (coin(0.1) && at(A).r == at(A).c) return emit(Op::matmul, A, A);
  return emit(Op::matmul, A, make(at(A).c, -1));
}

int Generator::fused_by_name() {
  const int A = pick();
  switch (uni(0, 4)) {
    case 0:
      return emit(Op::matmul_nt, A, coin(0.2) ? A : make(-1, at(A).c));
    case 1:
      return emit(Op::crossprod, A);
    case 2:
      return emit(Op::tcrossprod, A);
    case 3:
      return emit(Op::scale_columns, A, vec(at(A).c, A));
    default:
      return emit(Op::scale_rows, vec(at(A).r, A), A);
  }
}

int Generator::diag_move() {
  const int x = pick();
  if (at(x).r == 1 || at(x).c == 1) return emit(Op::diag, x);
  if (at(x).r == at(x).c) return emit(Op::diag, x);
  return emit(Op::diag, emit(Op::rowwise_mean, x));
}

int Generator::binary() {
  static const Op ops[] = {Op::add, Op::sub, Op::mul, Op::div};
  const Op op = any(ops);
  int A = pick();
  const Index r = at(A).r, c = at(A).c;
  int B = -1;
  const double u = real(0, 1);
  if (u < 0.45)
    B = make(r, c);
  else if (u < 0.6)
    B = make(1, c);
  else if (u < 0.75)
    B = make(r, 1);
  else if (u < 0.88)
    B = make(1, 1);
  else {  // a column and a row: both broadcast
    A = c == 1 ? A : safe(emit(Op::rowwise_mean, A));
    B = make(1, dim());
  }
  if (coin(0.3)) std::swap(A, B);
  if (op == Op::div) B = positive(B);
  return emit(op, A, B, coin(0.5) ? 1.0 : 0.0);
}

int Generator::activation() {
  static const Op acts[] = {Op::tanh, Op::sigmoid, Op::relu};
  int A = pick();
  const Index r = at(A).r, c = at(A).c;
  const double u = real(0, 1);
  int B = u < 0.4 ? make(1, c) : u < 0.6 ? make(r, 1) : u < 0.75 ? make(1, 1) : make(r, c);
  if (coin(0.25)) std::swap(A, B);
  const int sum = emit(Op::add, A, B);
  if (coin(0.15)) emit(Op::exp, sum);  // the sum with a second use
  return emit(any(acts), sum);
}

int Generator::scalar_op() {
  const int x = pick();
  switch (uni(0, 3)) {
    case 0:
      return emit(Op::add_s, x, -1, real(-2, 2));
    case 1:
      return emit(Op::mul_s, x, -1, real(-2, 2));
    case 2:
      return emit(Op::s_sub, x, -1, real(-2, 2));
    default:
      return emit(Op::s_div, positive(x), -1, real(0.2, 2));
  }
}

int Generator::unary() {
  const int x = pick();
  static const Op ops[] = {Op::neg, Op::square, Op::exp,  Op::log,  Op::sqrt,
                           Op::pow, Op::abs,    Op::relu, Op::tanh, Op::sigmoid};
  const Op op = any(ops);
  switch (op) {
    case Op::log:
    case Op::sqrt:
      return emit(op, positive(x));
    case Op::pow: {
      static const double ps[] = {2, 3, 0.5, 1.5, -1, -0.5, 0.3};
      const double e = any(ps);
      return emit(Op::pow, e == 2 || e == 3 ? x : positive(x), -1, e);
    }
    default:
      return emit(op, x);
  }
}

int Generator::reduce_vec() {
  static const Op ops[] = {Op::colwise_sum, Op::rowwise_sum, Op::colwise_mean, Op::rowwise_mean,
                           Op::logsumexp};
  return emit(any(ops), pick());
}

int Generator::loss_of(int x) {
  const Index r = at(x).r, c = at(x).c;
  auto other = [&] { return make(r, c); };
  auto diff = [&] { return coin(0.7) ? emit(Op::sub, x, other()) : emit(Op::sub, other(), x); };
  switch (uni(0, 13)) {
    case 0:
    case 1:
      return emit(Op::mean, emit(Op::square, diff()));
    case 2:
      return emit(Op::sum, emit(Op::square, diff()));
    case 3:
      return emit(Op::sum_squares, diff());
    case 4:
      return emit(Op::mean, emit(Op::square, x));
    case 5:
      return emit(Op::sum, emit(Op::square, x));
    case 6:
      return emit(Op::mse, x, other());
    case 7:
      return emit(Op::sum_squares, x);
    case 8:
      return emit(Op::norm, x);
    case 9: {  // a broadcasting difference: only the square of it is fused
      const int b = coin(0.5) ? make(1, c) : make(r, 1);
      return emit(coin(0.5) ? Op::mean : Op::sum, emit(Op::square, emit(Op::sub, x, b)));
    }
    case 10: {  // the square with a second use
      const int s = emit(Op::square, diff());
      const int l = emit(Op::mean, s);
      return emit(Op::add, l, emit(Op::sum, emit(Op::mul, s, constant(random_matrix(r, c, -1, 1)))));
    }
    case 11: {  // the difference with a second use
      const int d = diff();
      const int l = emit(Op::sum, emit(Op::square, d));
      return emit(Op::add, l, emit(Op::mean, emit(Op::tanh, d)));
    }
    case 12:
      return emit(Op::sum, emit(Op::mul, x, constant(random_matrix(r, c, -1, 1))));
    default:
      return emit(coin(0.5) ? Op::sum : Op::mean, x);
  }
}

int Generator::new_op() {
  const int x = pick();
  const Index r = at(x).r, c = at(x).c;
  switch (uni(0, 16)) {
    case 0: {
      const int dim = uni(0, 1);
      return emit(Op::cat, x, dim == 0 ? make(-1, c) : make(r, -1), dim);
    }
    case 1: {
      const int dim = uni(0, 1);
      const Index n = dim == 0 ? r : c, start = uni(0, int(n) - 1), len = uni(1, int(n - start));
      return emit(Op::narrow, x, -1, dim * 1e6 + double(start) * 1e3 + double(len));
    }
    case 2:
      return emit(Op::index_select, x, -1, uni(0, 1));
    case 3:
      return emit(Op::reshape, x, -1, uni(0, 1));
    case 4:
      return emit(coin(0.5) ? Op::maximum : Op::minimum, x, make(r, c));
    case 5: {
      static const Op ops[] = {Op::max_all,     Op::min_all,     Op::rowwise_max,
                               Op::colwise_max, Op::rowwise_min, Op::colwise_min};
      return emit(any(ops), x);
    }
    case 6:
      return emit(Op::clamp, x, -1, real(0.2, 2));
    case 7: {
      static const Op ops[] = {Op::rowwise_softmax,     Op::colwise_softmax,   Op::rowwise_log_softmax,
                               Op::colwise_log_softmax, Op::colwise_logsumexp, Op::logsumexp_all};
      return emit(any(ops), x);
    }
    case 8:  // log(softmax(x)): log_softmax
      return emit(Op::log, emit(coin(0.5) ? Op::rowwise_softmax : Op::colwise_softmax, x));
    case 9: {  // -mean(rowwise_sum(y * log(rowwise_softmax(x)))): softmax_cross_entropy
      const int y = coin(0.5) ? constant(random_matrix(r, c, 0, 1)) : emit(Op::rowwise_softmax, make(r, c));
      const int l =
          coin(0.6) ? emit(Op::log, emit(Op::rowwise_softmax, x)) : emit(Op::rowwise_log_softmax, x);
      const int p = coin(0.5) ? emit(Op::mul, y, l) : emit(Op::mul, l, y);
      return emit(Op::neg, emit(Op::mean, emit(Op::rowwise_sum, p)));
    }
    case 10:
      return emit(Op::cross_entropy, x);
    case 11:
      return emit(Op::cross_entropy_p, x, emit(Op::rowwise_softmax, make(r, c)));
    case 12:
      return emit(Op::bce_logits, x, emit(Op::sigmoid, make(r, c)));
    case 13: {
      static const Op ops[] = {Op::sin, Op::cos, Op::expm1, Op::softplus};
      return emit(any(ops), x);
    }
    case 14:
      return emit(Op::log1p, positive(x));
    case 15:
      return emit(Op::pow_m, positive(x), safe(emit(Op::mul_s, make(r, c), -1, 0.5)));
    default:
      return emit(Op::mul_s, emit(Op::rowwise_log_softmax, x), -1, 0.5);
  }
}

void Generator::move() {
  // Weights: the rewrite patterns first.
  static const int weights[] = {8, 8, 5, 6, 6, 6, 4, 7, 4, 3, 2, 8, 4, 10, 3, 5, 8, 12};
  int total = 0;
  for (int w : weights) total += w;
  int u = uni(0, total - 1), k = 0;
  while (u >= weights[k]) u -= weights[k++];
  switch (k) {
    case 0:
      mm_nt();
      break;
    case 1:
      mm_tn();
      break;
    case 2:
      mm_tt();
      break;
    case 3:
      crossprod_like();
      break;
    case 4:
      scale_cols();
      break;
    case 5:
      scale_rows_();
      break;
    case 6:
      nested();
      break;
    case 7:
      plain_mm();
      break;
    case 8:
      fused_by_name();
      break;
    case 9:
      emit(Op::transpose, pick());
      break;
    case 10:
      diag_move();
      break;
    case 11:
      binary();
      break;
    case 12:
      scalar_op();
      break;
    case 13:
      unary();
      break;
    case 14:
      reduce_vec();
      break;
    case 15:
      activation();
      break;
    case 16:
      loss_of(pick());
      break;
    default:
      new_op();
      break;
  }
}

}  // namespace tapegrad::test::random_graphs
