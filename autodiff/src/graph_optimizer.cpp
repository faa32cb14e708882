// The rewrite patterns. Each turns a literal formula into a fused kernel that computes the same value (to
// rounding) with fewer FLOPs or fewer passes over memory, forward and backward:
//
//   matmul(A, diag(v))               -> scale_columns(A, v)     no n×n matrix, no n×n product
//   matmul(diag(v), B)               -> scale_rows(v, B)
//   matmul(transpose(A), A)          -> crossprod(A)                 symmetric rank-k update
//   matmul(A, transpose(A))          -> tcrossprod(A)
//   matmul(transpose(A), B) & co.    -> matmul_tn / _nt / _tt   the transpose is a GEMM flag, never a copy
//   mean(square(a - b)), sum(...)    -> mse / sum_squared_difference   one pass, no a - b or square
//   sum_squares(a - b)               -> sum_squared_difference
//   mean(square(a)), sum(square(a))  -> mean_squares / sum_squares
//   tanh(a + b), sigmoid(..), relu(..) -> add_tanh, add_sigmoid, add_relu   one pass (a bias and its
//   activation)
//   log(rowwise_softmax(x)) & colwise -> log_softmax          stable: finite where log(0) would be -inf
//   -mean(rowwise_sum(y * log(rowwise_softmax(x)))), or with rowwise_log_softmax(x)
//                                    -> softmax_cross_entropy one stable node, no softmax or product kept
//
// A pattern matches on what the nodes were recorded as (their kind and recorded inputs), so patterns
// compose: in matmul(matmul(U, diag(s)), transpose(V)) the inner product becomes scale_columns and the outer
// one matmul_nt. A node a pattern reads around (the transpose, the diag, the square) is never folded when
// the user observed it; if it has other uses it still runs for them. Adding a pattern:
// docs/graph-optimizer.md.
#include "graph_optimizer.hpp"

#include "ops/kernels.hpp"

namespace tapegrad::detail {
namespace {

// x can be read around: it is an op of kind k whose value and gradient nobody asked for.
template <class T>
bool foldable(const Node<T>* x, OpKind k) {
  return x->kind == k && !x->observed;
}

template <class T>
void set_run(Node<T>* c, const OpDef<T>& def, std::initializer_list<Node<T>*> inputs, T scalar,
             std::uint32_t attr, const char* replaced) {
  auto& s = c->run;
  s.op = def.name;
  s.forward = def.forward;
  s.backward = def.backward;
  s.cost = def.cost;
  s.first_write = def.first_write;
  s.tangent = def.tangent;
  s.tangent_backward = def.tangent_backward;
  s.n_in = 0;
  for (auto* in : inputs) s.inp[s.n_in++] = in;
  s.scalar = scalar;
  s.attr = attr;
  c->replaced = replaced;
}

template <class T>
void rewrite_matmul(Node<T>* c) {
  Node<T>* a = c->rec.inp[0];
  Node<T>* b = c->rec.inp[1];
  if (foldable(b, OpKind::diag)) {
    set_run(c, scale_columns_op<T>(), {a, b->rec.inp[0]}, T(0), 0, "matmul(A, diag(v))");
    b->bypassed = true;
    return;
  }
  if (foldable(a, OpKind::diag)) {
    set_run(c, scale_rows_op<T>(), {a->rec.inp[0], b}, T(0), 0, "matmul(diag(v), B)");
    a->bypassed = true;
    return;
  }
  const bool ta = foldable(a, OpKind::transpose), tb = foldable(b, OpKind::transpose);
  if (!ta && !tb) return;
  Node<T>* A = ta ? a->rec.inp[0] : a;
  Node<T>* B = tb ? b->rec.inp[0] : b;
  if (ta && !tb && A == b) {
    set_run(c, crossprod_op<T>(), {A}, T(0), 0, "matmul(transpose(A), A)");
    a->bypassed = true;
    return;
  }
  if (tb && !ta && B == a) {
    set_run(c, tcrossprod_op<T>(), {a}, T(0), 0, "matmul(A, transpose(A))");
    b->bypassed = true;
    return;
  }
  static constexpr const char* kPattern[4] = {"", "matmul(transpose(A), B)", "matmul(A, transpose(B))",
                                              "matmul(transpose(A), transpose(B))"};
  const std::uint32_t flags = (ta ? kTransA : 0) | (tb ? kTransB : 0);
  set_run(c, matmul_op<T>(flags), {A, B}, T(0), flags, kPattern[flags]);
  if (ta) a->bypassed = true;
  if (tb) b->bypassed = true;
}

// sum / mean of square(z), and sum_squares(z), with z = a - b read as the two operands.
template <class T>
void rewrite_reduction(Node<T>* c) {
  Node<T>* x = c->rec.inp[0];
  const bool mean = c->kind == OpKind::mean;
  Node<T>* z = x;
  Node<T>* square = nullptr;
  if (c->kind != OpKind::sum_squares) {
    if (!foldable(x, OpKind::square)) return;
    square = x;
    z = x->rec.inp[0];
  }
  const T divisor = mean ? T(x->rows * x->cols) : T(1);
  if (foldable(z, OpKind::sub)) {
    Node<T>* a = z->rec.inp[0];
    Node<T>* b = z->rec.inp[1];
    const bool same_shapes =
        a->rows == z->rows && a->cols == z->cols && b->rows == z->rows && b->cols == z->cols;
    if (same_shapes) {
      set_run(c, squared_difference_op<T>(mean), {a, b}, divisor, 0,
              !square ? "sum_squares(a - b)"
              : mean  ? "mean(square(a - b))"
                      : "sum(square(a - b))");
      z->bypassed = true;
      if (square) square->bypassed = true;
      return;
    }
  }
  if (square) {
    set_run(c, squares_op<T>(mean), {z}, divisor, 0, mean ? "mean(square(a))" : "sum(square(a))");
    square->bypassed = true;
  }
}

// tanh / sigmoid / relu of a + b: one pass over the output, forward and backward.
template <class T>
void rewrite_activation(Node<T>* c) {
  Node<T>* x = c->rec.inp[0];
  if (!foldable(x, OpKind::add)) return;
  static constexpr const char* kPattern[3] = {"tanh(a + b)", "sigmoid(a + b)", "relu(a + b)"};
  const int which = c->kind == OpKind::tanh ? 0 : c->kind == OpKind::sigmoid ? 1 : 2;
  set_run(c, add_activation_op<T>(c->kind), {x->rec.inp[0], x->rec.inp[1]}, T(0), 0, kPattern[which]);
  x->bypassed = true;
}

// log(softmax(x)) -> log_softmax(x), in the softmax's direction (its attr).
template <class T>
void rewrite_log(Node<T>* c) {
  Node<T>* s = c->rec.inp[0];
  if (!foldable(s, OpKind::softmax)) return;
  set_run(c, log_softmax_op<T>(), {s->rec.inp[0]}, T(0), s->rec.attr,
          s->rec.attr == 1 ? "log(rowwise_softmax(x))" : "log(colwise_softmax(x))");
  s->bypassed = true;
}

// -mean(rowwise_sum(y * l)) with l = log(rowwise_softmax(x)) or rowwise_log_softmax(x) (y on either side of
// the product, of l's shape): the cross-entropy of the rows of x against the target rows y.
template <class T>
void rewrite_cross_entropy(Node<T>* c) {
  Node<T>* m = c->rec.inp[0];
  if (!foldable(m, OpKind::mean)) return;
  Node<T>* r = m->rec.inp[0];
  if (!foldable(r, OpKind::rowwise_sum)) return;
  Node<T>* p = r->rec.inp[0];
  if (!foldable(p, OpKind::mul)) return;
  for (int k = 0; k < 2; ++k) {
    Node<T>* l = p->rec.inp[k];
    Node<T>* y = p->rec.inp[1 - k];
    if (y->rows != p->rows || y->cols != p->cols || l->rows != p->rows || l->cols != p->cols) continue;
    Node<T>* x = nullptr;
    Node<T>* softmax = nullptr;
    if (foldable(l, OpKind::log_softmax) && l->rec.attr == 1) {
      x = l->rec.inp[0];
    } else if (foldable(l, OpKind::log) && foldable(l->rec.inp[0], OpKind::softmax) &&
               l->rec.inp[0]->rec.attr == 1) {
      softmax = l->rec.inp[0];
      x = softmax->rec.inp[0];
    }
    if (!x) continue;
    set_run(c, softmax_cross_entropy_op<T>(), {x, y}, T(p->rows), 0,
            softmax ? "-mean(rowwise_sum(y * log(rowwise_softmax(x))))"
                    : "-mean(rowwise_sum(y * rowwise_log_softmax(x)))");
    m->bypassed = r->bypassed = p->bypassed = l->bypassed = true;
    if (softmax) softmax->bypassed = true;
    return;
  }
}

}  // namespace

template <class T>
std::size_t rewrite_graph(Node<T>* const* nodes, std::size_t n) {
  std::size_t rewrites = 0;
  for (std::size_t i = 0; i < n; ++i) {
    Node<T>* c = nodes[i];
    c->run_as_recorded();  // bypassed: its uses come later and may set it again; live: below
    switch (c->kind) {
      case OpKind::matmul:
        rewrite_matmul(c);
        break;
      case OpKind::sum:
      case OpKind::mean:
      case OpKind::sum_squares:
        rewrite_reduction(c);
        break;
      case OpKind::tanh:
      case OpKind::sigmoid:
      case OpKind::relu:
        rewrite_activation(c);
        break;
      case OpKind::log:
        rewrite_log(c);
        break;
      case OpKind::neg:
        rewrite_cross_entropy(c);
        break;
      default:
        break;
    }
    rewrites += c->replaced ? 1 : 0;
  }
  // Liveness, in one reverse pass: a node runs if it is a root of the recording (nothing uses it), the
  // user observed it, or a node that runs reads it.
  for (std::size_t i = 0; i < n; ++i) {
    Node<T>* c = nodes[i];
    c->live = !c->rec.forward || c->uses == 0 || c->observed;
  }
  for (std::size_t i = n; i-- > 0;) {
    Node<T>* c = nodes[i];
    if (!c->live) continue;
    for (std::uint8_t k = 0; k < c->run.n_in; ++k) c->run.inp[k]->live = true;
  }
  return rewrites;
}

template std::size_t rewrite_graph<float>(Node<float>* const*, std::size_t);
template std::size_t rewrite_graph<double>(Node<double>* const*, std::size_t);

}  // namespace tapegrad::detail
