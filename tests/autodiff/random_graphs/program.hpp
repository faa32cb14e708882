// The random graphs' programs (test_random_graphs.cpp): a graph is a list of op instructions on earlier
// nodes, every op of the library among them (the PyTorch-style ones included); one instruction records one
// node, so node i of every tape that runs the program is instruction i.
#pragma once

#include <cstdint>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "tapegrad/autodiff.hpp"

namespace tapegrad::test::random_graphs {

enum class Op : std::uint8_t {
  param,     // a: the parameter's index
  constant,  // a: the constant's index
  matmul,
  matmul_nt,
  transpose,
  diag,
  scale_columns,
  scale_rows,
  crossprod,
  tcrossprod,
  add,  // s != 0: written with the operator
  sub,  // s != 0: written with the operator
  mul,
  div,
  neg,
  add_s,  // a + s
  mul_s,  // s * a
  s_sub,  // s - a
  s_div,  // s / a
  square,
  exp,
  log,
  sqrt,
  pow,  // a^s
  abs,
  relu,
  tanh,
  sigmoid,
  sum,
  mean,
  colwise_sum,
  rowwise_sum,
  colwise_mean,
  rowwise_mean,
  norm,
  logsumexp,
  mse,
  sum_squares,
  // the ops PyTorch users reach for first
  cat,           // s: dim
  narrow,        // s = dim * 1e6 + start * 1e3 + length
  index_select,  // s: dim (indices fixed by the shape: index_list)
  reshape,       // s 0: to c x r, 1: to 1 x rc
  maximum,
  minimum,
  max_all,
  min_all,
  rowwise_max,
  colwise_max,
  rowwise_min,
  colwise_min,
  clamp,  // clamp(a, -s, s)
  rowwise_softmax,
  colwise_softmax,
  rowwise_log_softmax,
  colwise_log_softmax,
  colwise_logsumexp,
  logsumexp_all,
  cross_entropy,    // integer labels fixed by the shape: label_list
  cross_entropy_p,  // target probabilities b
  bce_logits,
  sin,
  cos,
  log1p,
  expm1,
  softplus,
  pow_m,  // a^b elementwise
};

inline const char* op_str(Op op) {
  static const char* names[] = {"param",
                                "constant",
                                "matmul",
                                "matmul_nt",
                                "transpose",
                                "diag",
                                "scale_columns",
                                "scale_rows",
                                "crossprod",
                                "tcrossprod",
                                "add",
                                "sub",
                                "mul",
                                "div",
                                "neg",
                                "add_s",
                                "mul_s",
                                "s_sub",
                                "s_div",
                                "square",
                                "exp",
                                "log",
                                "sqrt",
                                "pow",
                                "abs",
                                "relu",
                                "tanh",
                                "sigmoid",
                                "sum",
                                "mean",
                                "colwise_sum",
                                "rowwise_sum",
                                "colwise_mean",
                                "rowwise_mean",
                                "norm",
                                "logsumexp",
                                "mse",
                                "sum_squares",
                                "cat",
                                "narrow",
                                "index_select",
                                "reshape",
                                "maximum",
                                "minimum",
                                "max",
                                "min",
                                "rowwise_max",
                                "colwise_max",
                                "rowwise_min",
                                "colwise_min",
                                "clamp",
                                "rowwise_softmax",
                                "colwise_softmax",
                                "rowwise_log_softmax",
                                "colwise_log_softmax",
                                "colwise_logsumexp",
                                "logsumexp_all",
                                "cross_entropy",
                                "cross_entropy_p",
                                "bce_logits",
                                "sin",
                                "cos",
                                "log1p",
                                "expm1",
                                "softplus",
                                "pow_m"};
  return names[static_cast<int>(op)];
}

struct Instr {
  Op op;
  int a = -1, b = -1;  // input nodes (for leaves: the parameter's or constant's index)
  double s = 0;        // scalar operand
};

struct Program {
  std::vector<Matrix<double>> params, constants;
  std::vector<Instr> code;
  int root = -1;
  Matrix<double> root_grad;  // empty: backward(root) of a 1x1 root; otherwise backward(root, root_grad)
  // Per node: depends on a parameter; is on a path from the root (its gradient is defined after a sweep).
  std::vector<char> needs_grad, on_path;

  bool leaf(std::size_t i) const { return code[i].op == Op::param || code[i].op == Op::constant; }
  void finish() {
    const std::size_t n = code.size();
    needs_grad.assign(n, 0);
    on_path.assign(n, 0);
    for (std::size_t i = 0; i < n; ++i) {
      const Instr& in = code[i];
      if (in.op == Op::param)
        needs_grad[i] = 1;
      else if (!leaf(i))
        needs_grad[i] = (in.a >= 0 && needs_grad[in.a]) || (in.b >= 0 && needs_grad[in.b]);
    }
    on_path[root] = 1;
    for (std::size_t i = static_cast<std::size_t>(root) + 1; i-- > 0;) {
      if (!on_path[i] || leaf(i)) continue;
      if (code[i].a >= 0) on_path[code[i].a] = 1;
      if (code[i].b >= 0) on_path[code[i].b] = 1;
    }
  }
  std::string listing() const {
    std::ostringstream o;
    for (std::size_t i = 0; i < code.size(); ++i) {
      const Instr& in = code[i];
      o << i << ": " << op_str(in.op) << "(";
      if (leaf(i)) {
        const auto& m = in.op == Op::param ? params[in.a] : constants[in.a];
        o << "#" << in.a << " " << m.rows() << "x" << m.cols();
      } else {
        o << in.a;
        if (in.b >= 0) o << ", " << in.b;
        if (in.s != 0) o << ", s=" << in.s;
      }
      o << ")\n";
    }
    o << "root " << root << (root_grad.size() ? " with a root gradient" : "") << "\n";
    return o.str();
  }
};

// The indices index_select takes from n rows or columns, and the labels cross_entropy takes for r rows of c
// classes: fixed by the shape, so that an instruction needs no list.
inline std::vector<Index> index_list(Index n) { return {n - 1, 0, n / 2, n - 1}; }
inline std::vector<Index> label_list(Index r, Index c) {
  std::vector<Index> y;
  for (Index i = 0; i < r; ++i) y.push_back((i * 7 + 3) % c);
  return y;
}

// Records instruction `in` on t: one node.
template <class T>
Var<T> apply(Tape<T>& t, const Instr& in, const std::vector<Var<T>>& v, std::vector<Parameter<T>>& ps,
             const std::vector<Matrix<T>>& cs) {
  const T s = static_cast<T>(in.s);
  auto A = [&] { return v[static_cast<std::size_t>(in.a)]; };
  auto B = [&] { return v[static_cast<std::size_t>(in.b)]; };
  switch (in.op) {
    case Op::param:
      return t.parameter(ps[static_cast<std::size_t>(in.a)]);
    case Op::constant:
      return t.constant(cs[static_cast<std::size_t>(in.a)]);
    case Op::matmul:
      return matmul(A(), B());
    case Op::matmul_nt:
      return matmul_nt(A(), B());
    case Op::transpose:
      return transpose(A());
    case Op::diag:
      return diag(A());
    case Op::scale_columns:
      return scale_columns(A(), B());
    case Op::scale_rows:
      return scale_rows(A(), B());
    case Op::crossprod:
      return crossprod(A());
    case Op::tcrossprod:
      return tcrossprod(A());
    case Op::add:
      return in.s != 0 ? A() + B() : add(A(), B());
    case Op::sub:
      return in.s != 0 ? A() - B() : sub(A(), B());
    case Op::mul:
      return mul(A(), B());
    case Op::div:
      return div(A(), B());
    case Op::neg:
      return -A();
    case Op::add_s:
      return A() + s;
    case Op::mul_s:
      return s * A();
    case Op::s_sub:
      return s - A();
    case Op::s_div:
      return s / A();
    case Op::square:
      return square(A());
    case Op::exp:
      return tapegrad::exp(A());
    case Op::log:
      return tapegrad::log(A());
    case Op::sqrt:
      return tapegrad::sqrt(A());
    case Op::pow:
      return tapegrad::pow(A(), s);
    case Op::abs:
      return tapegrad::abs(A());
    case Op::relu:
      return relu(A());
    case Op::tanh:
      return tapegrad::tanh(A());
    case Op::sigmoid:
      return sigmoid(A());
    case Op::sum:
      return sum(A());
    case Op::mean:
      return mean(A());
    case Op::colwise_sum:
      return colwise_sum(A());
    case Op::rowwise_sum:
      return rowwise_sum(A());
    case Op::colwise_mean:
      return colwise_mean(A());
    case Op::rowwise_mean:
      return rowwise_mean(A());
    case Op::norm:
      return norm(A());
    case Op::logsumexp:
      return rowwise_logsumexp(A());
    case Op::mse:
      return mse(A(), B());
    case Op::sum_squares:
      return sum_squares(A());
    case Op::cat:
      return cat(A(), B(), int(in.s));
    case Op::narrow: {
      const auto code = static_cast<long>(in.s);
      return narrow(A(), int(code / 1000000), Index(code / 1000 % 1000), Index(code % 1000));
    }
    case Op::index_select:
      return index_select(A(), int(in.s), index_list(in.s == 0 ? A().rows() : A().cols()));
    case Op::reshape:
      return in.s == 0 ? reshape(A(), A().cols(), A().rows()) : reshape(A(), 1, A().rows() * A().cols());
    case Op::maximum:
      return maximum(A(), B());
    case Op::minimum:
      return minimum(A(), B());
    case Op::max_all:
      return max(A());
    case Op::min_all:
      return min(A());
    case Op::rowwise_max:
      return rowwise_max(A());
    case Op::colwise_max:
      return colwise_max(A());
    case Op::rowwise_min:
      return rowwise_min(A());
    case Op::colwise_min:
      return colwise_min(A());
    case Op::clamp:
      return clamp(A(), -s, s);
    case Op::rowwise_softmax:
      return rowwise_softmax(A());
    case Op::colwise_softmax:
      return colwise_softmax(A());
    case Op::rowwise_log_softmax:
      return rowwise_log_softmax(A());
    case Op::colwise_log_softmax:
      return colwise_log_softmax(A());
    case Op::colwise_logsumexp:
      return colwise_logsumexp(A());
    case Op::logsumexp_all:
      return logsumexp(A());
    case Op::cross_entropy:
      return cross_entropy(A(), label_list(A().rows(), A().cols()));
    case Op::cross_entropy_p:
      return cross_entropy(A(), B());
    case Op::bce_logits:
      return binary_cross_entropy_with_logits(A(), B());
    case Op::sin:
      return sin(A());
    case Op::cos:
      return cos(A());
    case Op::log1p:
      return log1p(A());
    case Op::expm1:
      return expm1(A());
    case Op::softplus:
      return softplus(A());
    case Op::pow_m:
      return pow(A(), B());
  }
  throw std::logic_error("unknown op");
}

// Called after instruction k was recorded, with the handles so far (a value read mid-recording).
template <class T>
using Hook = std::function<void(std::size_t, const std::vector<Var<T>>&)>;

template <class T>
std::vector<Var<T>> record(Tape<T>& t, const Program& p, std::vector<Parameter<T>>& ps,
                           const std::vector<Matrix<T>>& cs, const Hook<T>& hook = {}) {
  std::vector<Var<T>> v;
  v.reserve(p.code.size());
  for (std::size_t k = 0; k < p.code.size(); ++k) {
    v.push_back(apply(t, p.code[k], v, ps, cs));
    // index_select and cross_entropy record their indices or labels as a constant first.
    if (v.back().index() < k || (k > 0 && v.back().index() <= v[k - 1].index()))
      throw std::logic_error("node " + std::to_string(k) + " is out of order");
    if (hook) hook(k, v);
  }
  return v;
}

}  // namespace tapegrad::test::random_graphs
