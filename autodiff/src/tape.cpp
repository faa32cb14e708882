#include "tapegrad/autodiff/tape.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace tapegrad {

namespace {

// m.resize(rows, cols), skipped when the shape is already right: Eigen's resize checks rows * cols for
// overflow with an integer division, which is most of the cost of recording or zeroing a 1x1 node.
template <class T>
void resize_to(Matrix<T>& m, Index rows, Index cols) {
  if (m.rows() != rows || m.cols() != cols) m.resize(rows, cols);
}

template <class T>
void zero_to(Matrix<T>& m, Index rows, Index cols) {
  resize_to(m, rows, cols);
  m.setZero();
}

}  // namespace

template <class T>
void Tape<T>::grow(const char* op) {
  // Only here can the tape fill up: size_ never exceeds the number of nodes made.
  if (size_ >= std::numeric_limits<std::uint32_t>::max())
    throw TapeError(std::string(op) + ": the tape is full");
  // Grow ptr_ first (geometrically): if that throws, nodes_ and ptr_ stay in step.
  if (ptr_.size() == ptr_.capacity()) ptr_.reserve(2 * ptr_.capacity() + 16);
  ptr_.push_back(&nodes_.emplace_back());
}

template <class T>
detail::Node<T>& Tape<T>::push(const char* op) {
  // A node is made by the first recording that reaches it; later ones reuse it. (grow is a function of its
  // own so that this path saves no registers.)
  if (size_ == ptr_.size()) [[unlikely]]
    grow(op);
  auto& n = *ptr_[size_];
  // Reuse the node's buffers (value, grad keep their capacity); reset everything else.
  n.self = static_cast<std::uint32_t>(size_++);
  n.op = op;
  n.forward = nullptr;
  n.backward = nullptr;
  n.n_in = 0;
  n.needs_grad = false;
  n.on_path = false;
  n.scalar = T(0);
  n.param = nullptr;
  n.val = &n.value;
  n.grd = &n.grad;
  return n;
}

template <class T>
void Tape<T>::check_failed(Var<T> v, const char* op) const {
  if (v.tape_ != this) {
    throw TapeError(std::string(op) + ": the node belongs to " +
                    (v.tape_ ? "another tape" : "no tape (default-constructed Var)"));
  }
  throw TapeError(std::string(op) + ": the node is from before the tape was cleared (stale handle)");
}

template <class T>
Var<T> Tape<T>::parameter(Parameter<T>& p) {
  if (p.grad.rows() != p.value.rows() || p.grad.cols() != p.value.cols()) p.zero_grad();
  auto& n = push("parameter");
  n.param = &p;
  n.val = &p.value;
  n.grd = &p.grad;
  n.needs_grad = true;
  return handle(size_ - 1);
}

template <class T>
Var<T> Tape<T>::constant(const Matrix<T>& m) {
  auto& n = push("constant");
  n.value = m;
  return handle(size_ - 1);
}

template <class T>
Var<T> Tape<T>::scalar(T v) {
  auto& n = push("constant");
  n.value.resize(1, 1);
  n.value(0, 0) = v;
  return handle(size_ - 1);
}

template <class T>
void Tape<T>::set_constant(Var<T> c, const Matrix<T>& m) {
  check(c, "set_constant");
  auto& n = *ptr_[index_of(c)];
  if (n.forward || n.param)
    throw TapeError("set_constant: node " + std::to_string(index_of(c)) + " is not a constant");
  if (m.rows() != n.value.rows() || m.cols() != n.value.cols()) {
    throw ShapeError("set_constant: cannot replace a " + shape_string(n.value.rows(), n.value.cols()) +
                     " constant by a " + shape_string(m.rows(), m.cols()) + " matrix");
  }
  n.value = m;
}

template <class T>
Var<T> Tape<T>::record(const char* op, std::initializer_list<Var<T>> inputs, Index rows, Index cols,
                       ForwardFn<T> forward, BackwardFn<T> backward, T scalar) {
  if (inputs.size() > 3) throw TapeError(std::string(op) + ": an op takes at most 3 inputs");
  for (const auto& v : inputs) check(v, op);
  auto& n = push(op);
  n.forward = forward;
  n.backward = backward;
  n.scalar = scalar;
  std::uint8_t k = 0;
  bool needs_grad = false;
  for (const auto& v : inputs) {
    auto* in = ptr_[index_of(v)];
    n.inp[k++] = in;
    needs_grad = needs_grad || in->needs_grad;
  }
  n.n_in = k;
  n.needs_grad = needs_grad;
  resize_to(n.value, rows, cols);
  OpContext<T> ctx(&n);
  forward(ctx);
  if (anomaly_) check_finite(n.self, n.value, "forward");
  return handle(n.self);
}

template <class T>
void Tape<T>::forward() {
  detail::Node<T>* const* p = ptr_.data();
  for (std::size_t i = 0; i < size_; ++i) {
    detail::Node<T>* n = p[i];
    if (!n->forward) continue;
    OpContext<T> ctx(n);
    n->forward(ctx);
    if (anomaly_) check_finite(n->self, n->value, "forward");
  }
}

template <class T>
void Tape<T>::backward(Var<T> loss) {
  check(loss, "backward");
  const auto& v = value_of(index_of(loss));
  if (v.rows() != 1 || v.cols() != 1) {
    throw TapeError("backward: the root is " + shape_string(v.rows(), v.cols()) +
                    ", not 1x1; pass a seed gradient of its shape: backward(root, seed)");
  }
  backward_from(index_of(loss), Matrix<T>::Ones(1, 1));  // an expression: no matrix is allocated
}

template <class T>
void Tape<T>::backward(Var<T> root, const Matrix<T>& seed) {
  check(root, "backward");
  const auto& v = value_of(index_of(root));
  if (seed.rows() != v.rows() || seed.cols() != v.cols()) {
    throw ShapeError("backward: the seed gradient is " + shape_string(seed.rows(), seed.cols()) +
                     " but the root is " + shape_string(v.rows(), v.cols()));
  }
  backward_from(index_of(root), seed);
}

template <class T>
template <class Seed>
void Tape<T>::backward_from(std::uint32_t root, const Seed& seed) {
  auto& n = *ptr_[root];
  if (!n.needs_grad) return;  // nothing on this graph depends on a parameter
  if (n.param) {
    n.param->grad += seed;
    return;
  }
  n.grad = seed;
  sweep(root);
}

template <class T>
void Tape<T>::run_backward(detail::Node<T>* n) {
  OpContext<T> ctx(n);
  n->backward(ctx);
  if (anomaly_) {
    for (std::uint8_t k = 0; k < n->n_in; ++k) {
      if (n->inp[k]->needs_grad) check_finite(n->self, *n->inp[k]->grd, "backward");
    }
  }
}

template <class T>
void Tape<T>::sweep(std::uint32_t root) {
  if (plan_base_ == base_ && plan_size_ == size_ && plan_root_ == root) {
    // The same recording and root as last time (a replayed graph): the plan is known.
    for (auto* m : plan_zero_) zero_to(m->grad, m->value.rows(), m->value.cols());
    for (auto* n : plan_run_) run_backward(n);
    return;
  }
  // Otherwise one reverse loop in creation order, which also writes the plan down: when node i is
  // reached, every node that uses it (all of which come later) has already added its contribution.
  plan_zero_.clear();
  plan_run_.clear();
  plan_size_ = 0;  // not valid until the sweep completes
  // push() recorded every node with on_path false; only an earlier sweep of this recording left marks.
  for (std::size_t i = 0; i < std::min<std::size_t>(root, path_marked_); ++i) ptr_[i]->on_path = false;
  path_marked_ = std::max<std::size_t>(path_marked_, std::size_t{root} + 1);
  ptr_[root]->on_path = true;
  for (std::int64_t i = root; i >= 0; --i) {
    auto* n = ptr_[static_cast<std::size_t>(i)];
    if (!n->on_path || !n->backward) continue;
    for (std::uint8_t k = 0; k < n->n_in; ++k) {
      auto* m = n->inp[k];
      if (!m->needs_grad || m->on_path) continue;
      m->on_path = true;
      if (!m->param) {
        zero_to(m->grad, m->value.rows(), m->value.cols());
        plan_zero_.push_back(m);
      }
    }
    plan_run_.push_back(n);
    run_backward(n);
  }
  plan_base_ = base_;
  plan_size_ = size_;
  plan_root_ = root;
}

template <class T>
void Tape<T>::clear() {
  base_ += size_;
  size_ = 0;
  path_marked_ = 0;
}

template <class T>
void Tape<T>::check_finite(std::uint32_t i, const Matrix<T>& m, const char* what) const {
  if (m.allFinite()) return;
  Index r = 0, c = 0;
  for (Index j = 0; j < m.cols(); ++j) {
    for (Index k = 0; k < m.rows(); ++k) {
      if (!std::isfinite(m(k, j))) {
        r = k;
        c = j;
        j = m.cols();
        break;
      }
    }
  }
  const auto& n = *ptr_[i];
  std::string shapes;
  for (std::uint8_t k = 0; k < n.n_in; ++k) {
    const auto& x = *n.inp[k]->val;
    shapes += (k ? ", " : "") + shape_string(x.rows(), x.cols());
  }
  std::string where = std::string(what) == "forward" ? "its value" : "the gradient it passes to its inputs";
  throw NonFiniteError(std::string("anomaly detection: ") + n.op + " (node " + std::to_string(i) +
                       ", inputs " + (shapes.empty() ? "none" : shapes) + ", output " +
                       shape_string(n.value.rows(), n.value.cols()) +
                       ") produced a non-finite value in the " + what + " pass: " + where + " has " +
                       std::to_string(static_cast<double>(m(r, c))) + " at (" + std::to_string(r) + ", " +
                       std::to_string(c) + ")");
}

template class Tape<float>;
template class Tape<double>;

}  // namespace tapegrad
