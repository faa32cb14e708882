// The tape's reverse sweeps: backward() from a root (one loop from the root down over the planned steps), the
// sweep as recorded for grad() of a node a rewrite bypassed, and the queries of what a sweep ran. Recording,
// forward and clearing are in tape.cpp.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "resize.hpp"
#include "tapegrad/autodiff/tape.hpp"

namespace tapegrad {

namespace {

using detail::resize_to;

template <class T>
void zero_to(Matrix<T>& m, Index rows, Index cols) {
  resize_to(m, rows, cols);
  m.setZero();
}

// Marks the nodes of nodes[0..root] that a sweep from root reaches through the planned steps (what
// sweep_steps marks, without running anything): for grad() after a replayed plan's sweep, which marks
// nothing.
template <class T>
void mark_path(detail::Node<T>* const* nodes, std::uint32_t root) {
  for (std::uint32_t i = 0; i < root; ++i) nodes[i]->on_path = false;
  nodes[root]->on_path = true;
  for (std::int64_t i = root; i >= 0; --i) {
    const auto* n = nodes[static_cast<std::size_t>(i)];
    if (!n->on_path || !n->run.backward) continue;
    for (std::uint8_t k = 0; k < n->run.n_in; ++k)
      if (n->run.inp[k]->needs_grad) n->run.inp[k]->on_path = true;
  }
}

}  // namespace

template <class T>
void Tape<T>::backward(Var<T> loss) {
  check(loss, "backward");
  const auto* n = ptr_[index_of(loss)];
  if (n->rows != 1 || n->cols != 1) {
    throw TapeError("backward: the root is " + shape_string(n->rows, n->cols) +
                    ", not 1x1; pass the root's gradient, of its shape: backward(root, root_grad)");
  }
  backward_from(index_of(loss), Matrix<T>::Ones(1, 1));  // an expression: no matrix is allocated
}

template <class T>
void Tape<T>::backward(Var<T> root, const Matrix<T>& root_grad) {
  check(root, "backward");
  const auto* n = ptr_[index_of(root)];
  if (root_grad.rows() != n->rows || root_grad.cols() != n->cols) {
    throw ShapeError("backward: the root's gradient is " + shape_string(root_grad.rows(), root_grad.cols()) +
                     " but the root is " + shape_string(n->rows, n->cols));
  }
  backward_from(index_of(root), root_grad);
}

template <class T>
template <class RootGrad>
void Tape<T>::backward_from(std::uint32_t root, const RootGrad& root_grad) {
  check_outside_shapes("backward");
  ++epoch_;
  auto& n = *ptr_[root];
  mark_observed(&n);
  evaluate();  // every value the sweep reads
  backward_root_serial_ = base_ + root;
  if (!n.needs_grad) return;  // nothing on this graph depends on a parameter
  if (n.param) {
    n.param->grad += root_grad;
    return;
  }
  last_root_serial_ = base_ + root;
  unfused_valid_ = false;
  sweep_gen_ = gen_;
  sweep_rewritten_ = rewrites_ > 0 && !eager();
  n.grad = root_grad;  // stays the root gradient through the sweep (no node on the path uses the root)
  sweep(root);
}

template <class T>
void Tape<T>::run_backward(detail::Node<T>* n, const detail::Step<T>& s) {
  if (hooked_) [[unlikely]]  // anomaly detection or profiling
    return run_backward_hooked(n, s);
  OpContext<T> ctx(n, &s);
  s.backward(ctx);
}

template <class T>
void Tape<T>::sweep(std::uint32_t root) {
  if (bplan_gen_ == gen_ && bplan_size_ == size_ && bplan_root_ == root && matched_ == size_) {
    // The same graph and root as last time (a replayed or re-recorded graph): the plan is known.
    for (auto* m : plan_zero_) zero_to(m->grad, m->rows, m->cols);
    for (const auto& e : plan_run_) {
      e.node->first = e.first;
      run_backward(e.node, e.node->run);
    }
    return;
  }
  // Otherwise the reverse loop, which also writes the plan down.
  plan_zero_.clear();
  plan_run_.clear();
  bplan_size_ = 0;  // not valid until the sweep completes
  sweep_steps(root, &detail::Node<T>::run, true);
  bplan_gen_ = gen_;
  bplan_size_ = size_;
  bplan_root_ = root;
  matched_ = size_;  // the plan is for this recording
}

template <class T>
void Tape<T>::sweep_steps(std::uint32_t root, detail::Step<T> detail::Node<T>::*step, bool write_plan) {
  // One reverse loop in creation order over each node's `step` (run: what the plan runs; rec: the graph as
  // recorded): when node i is reached, every node that uses it (all of which come later) has already added
  // its contribution. push() recorded every node with on_path false; only an earlier sweep of this
  // recording left marks.
  for (std::size_t i = 0; i < std::min<std::size_t>(root, path_marked_); ++i) ptr_[i]->on_path = false;
  path_marked_ = std::max<std::size_t>(path_marked_, std::size_t{root} + 1);
  ptr_[root]->on_path = true;
  for (std::int64_t i = root; i >= 0; --i) {
    auto* n = ptr_[static_cast<std::size_t>(i)];
    const detail::Step<T>& s = n->*step;
    if (!n->on_path || !s.backward) continue;
    std::uint8_t first = 0;
    for (std::uint8_t k = 0; k < s.n_in; ++k) {
      auto* m = s.inp[k];
      if (!m->needs_grad || m->on_path) continue;
      m->on_path = true;
      if (m->param) continue;  // parameters accumulate
      if (s.first_write) {     // the op writes the gradient: no zeroing
        resize_to(m->grad, m->rows, m->cols);
        first = static_cast<std::uint8_t>(first | (1U << k));
      } else {
        zero_to(m->grad, m->rows, m->cols);
        if (write_plan) plan_zero_.push_back(m);
      }
    }
    if (write_plan) plan_run_.push_back({n, first});
    n->first = first;
    run_backward(n, s);
  }
}

template <class T>
void Tape<T>::unfused_gradients() {
  // The last sweep ran the rewritten graph, which gives a node that a rewrite bypassed only part of its
  // gradient (or none). Sweep again through the graph as recorded, with the parameters' gradients sent
  // to scratch buffers (they already hold this sweep's contribution), so every node gets its gradient.
  if (last_root_serial_ < base_ || last_root_serial_ - base_ >= size_) {  // no sweep of this recording
    unfused_valid_ = true;
    return;
  }
  const auto root = static_cast<std::uint32_t>(last_root_serial_ - base_);
  // The parameters' gradients go back to the parameters however this ends (an op may throw, e.g. anomaly
  // detection's NonFiniteError): a later sweep must never accumulate into the scratch buffers.
  struct Restore {
    Tape* tape;
    std::uint32_t root;
    ~Restore() {
      for (std::uint32_t i = 0; i <= root; ++i) {
        auto* n = tape->ptr_[i];
        if (n->param) n->grd = &n->param->grad;
      }
    }
  } restore{this, root};
  for (std::uint32_t i = 0; i <= root; ++i) {  // values as recorded (inputs come first)
    auto* n = ptr_[i];
    if (n->rec.forward && !n->computed) run_forward(n, n->rec);
    if (n->param) {
      n->grd = &n->grad;
      zero_to(n->grad, n->rows, n->cols);
    }
  }
  sweep_steps(root, &detail::Node<T>::rec, false);  // the root's grad still holds the root gradient
  unfused_valid_ = true;                            // only once the sweep has completed
}

template <class T>
const Matrix<T>& Tape<T>::observed_grad(std::uint32_t i) {
  auto* n = ptr_[i];
  if (!n->param) {
    grad_available(i);  // throws for a node without a gradient, or before any backward()
    // A sweep that replayed its plan (the same graph recorded again) marked no path: mark it now. A sweep
    // always marks its root, and a new recording unmarks every node, so an unmarked root means exactly that.
    const auto root = static_cast<std::uint32_t>(backward_root_serial_ - base_);
    const auto* r = ptr_[root];
    if (r->needs_grad && !r->param && !r->on_path) {
      mark_path(ptr_.data(), root);
      path_marked_ = std::max<std::size_t>(path_marked_, std::size_t{root} + 1);
    }
  }
  const bool rewritten = !n->live || n->bypassed;
  mark_observed(n);
  // The last sweep left this node's gradient partial if it ran a plan that read around it (this plan, or
  // one made before a replan since).
  if (sweep_rewritten_ && (rewritten || gen_ != sweep_gen_) && n->needs_grad && !n->param) {
    if (!unfused_valid_) unfused_gradients();
    // A node the last root does not depend on (not reached by that sweep) has a zero gradient.
    const std::uint64_t root = last_root_serial_ - base_;
    if (last_root_serial_ < base_ || root >= size_ || n->self > root || !n->on_path)
      zero_to(*n->grd, n->rows, n->cols);
  }
  // Not reached by the last backward() (its root does not depend on n, or needs no gradient, or is a
  // parameter, so that nothing was swept): zero, not what an earlier sweep left.
  if (!n->param) {
    const auto root = static_cast<std::uint32_t>(backward_root_serial_ - base_);
    const auto* r = ptr_[root];
    if (n->self > root || !r->needs_grad || r->param || !n->on_path) zero_to(*n->grd, n->rows, n->cols);
  }
  return *n->grd;
}

template <class T>
void Tape<T>::grad_available(std::uint32_t i) const {
  const auto* n = ptr_[i];
  const bool swept = backward_root_serial_ >= base_ && backward_root_serial_ - base_ < size_;
  if (n->needs_grad && swept) [[likely]]
    return;
  // The messages are built only here: grad() allocates nothing.
  const std::string node = "grad(): node " + std::to_string(i) + " (" + n->rec.op + ")";
  if (!n->needs_grad) {
    throw TapeError(node + (n->kind == OpKind::constant ? " is a constant" : " depends on no parameter") +
                    ", so it has no gradient; record the leaf as a Parameter to get one");
  }
  throw TapeError(node + ": no backward() has run since it was recorded");
}

template <class T>
bool Tape<T>::runs(std::uint32_t i) const {
  ensure_plan();
  return ptr_[i]->live;
}

template <class T>
const char* Tape<T>::run_op_name(std::uint32_t i) const {
  ensure_plan();
  return ptr_[i]->run.op;
}

template <class T>
const char* Tape<T>::replaced_pattern(std::uint32_t i) const {
  ensure_plan();
  return ptr_[i]->replaced;
}

template <class T>
std::vector<std::uint32_t> Tape<T>::run_inputs_of(std::uint32_t i) const {
  ensure_plan();
  return inputs(ptr_[i]->run);
}

// Explicit instantiations of the members defined here (tape.cpp instantiates the class's others), for float
// and double as in the op files.
#define TAPEGRAD_INSTANTIATE(T)                                                                \
  template void Tape<T>::backward(Var<T>);                                                     \
  template void Tape<T>::backward(Var<T>, const Matrix<T>&);                                   \
  template void Tape<T>::run_backward(detail::Node<T>*, const detail::Step<T>&);               \
  template void Tape<T>::sweep(std::uint32_t);                                                 \
  template void Tape<T>::sweep_steps(std::uint32_t, detail::Step<T> detail::Node<T>::*, bool); \
  template void Tape<T>::unfused_gradients();                                                  \
  template const Matrix<T>& Tape<T>::observed_grad(std::uint32_t);                             \
  template void Tape<T>::grad_available(std::uint32_t) const;                                  \
  template bool Tape<T>::runs(std::uint32_t) const;                                            \
  template const char* Tape<T>::run_op_name(std::uint32_t) const;                              \
  template const char* Tape<T>::replaced_pattern(std::uint32_t) const;                         \
  template std::vector<std::uint32_t> Tape<T>::run_inputs_of(std::uint32_t) const;
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace tapegrad
