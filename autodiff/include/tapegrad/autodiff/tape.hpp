// The tape: a linear record of matrix-valued nodes, and one reverse sweep over it.
//
// Every op appends one node (its value is computed at once), so creation order is a topological
// order and backward() is a single reverse loop: no sort, no recursion. Nodes are indices into the
// tape. clear() forgets the nodes but keeps their buffers, so a training loop that records the same
// graph every step stops allocating after the first one; forward() replays a recorded graph on new
// parameter values without recording anything.
#pragma once

#include <cstdint>
#include <deque>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "tapegrad/autodiff/matrix.hpp"

namespace tapegrad {

template <class T>
class Tape;
template <class T>
class OpContext;

/// A trainable matrix with its gradient. It lives outside any tape, so it outlives tape clears.
/// Gradients accumulate (+=) across backward passes until zero_grad(), as in PyTorch.
template <class T>
class Parameter {
 public:
  Parameter() = default;
  explicit Parameter(Matrix<T> initial, std::string name = {})
      : value(std::move(initial)),
        grad(Matrix<T>::Zero(value.rows(), value.cols())),
        name_(std::move(name)) {}

  Matrix<T> value;  ///< The current value; optimizers update it in place.
  Matrix<T> grad;   ///< d(loss)/d(value), accumulated over backward passes; same shape as value.

  void zero_grad() { grad.setZero(value.rows(), value.cols()); }
  const std::string& name() const { return name_; }
  Index rows() const { return value.rows(); }
  Index cols() const { return value.cols(); }

 private:
  std::string name_;
};

/// A handle to one node of a tape. Cheap to copy. Using it after its tape was cleared, or with
/// nodes of another tape, throws TapeError.
template <class T>
class Var {
 public:
  Var() = default;

  Tape<T>& tape() const;
  Index rows() const;
  Index cols() const;
  const Matrix<T>& value() const;
  /// The gradient of the last backward() with respect to this node (nodes on a path to a parameter).
  const Matrix<T>& grad() const;
  /// The name of the op that made this node ("matmul", "parameter", ...).
  const char* op_name() const;
  /// The node's position on its tape (recording order).
  std::uint32_t index() const;
  bool needs_grad() const;

 private:
  friend class Tape<T>;
  Var(Tape<T>* tape, std::uint64_t serial) : tape_(tape), serial_(serial) {}
  // Two words, so that a Var is passed and returned in registers. serial_ numbers the node among all the
  // nodes its tape has recorded since it was made; serials are never reused, so a handle from before a
  // clear() is known to be stale (see Tape::check).
  Tape<T>* tape_ = nullptr;
  std::uint64_t serial_ = 0;
};

/// How an op computes its value: reads inputs, writes out() (already sized).
template <class T>
using ForwardFn = void (*)(OpContext<T>&);
/// How an op propagates: adds its contribution to grad_in(i) for every input with needs_grad(i).
template <class T>
using BackwardFn = void (*)(OpContext<T>&);

namespace detail {
template <class T>
struct Node {
  const char* op = "";
  ForwardFn<T> forward = nullptr;              // null for leaves
  BackwardFn<T> backward = nullptr;            // null for leaves
  Node* inp[3] = {nullptr, nullptr, nullptr};  // the input nodes themselves (deque elements never move)
  std::uint32_t self = 0;                      // this node's index
  std::uint8_t n_in = 0;
  bool needs_grad = false;
  bool on_path = false;  // set while planning a backward sweep: this node's gradient is wanted
  T scalar = T(0);       // op parameter: exponent, scalar operand, ...
  Parameter<T>* param = nullptr;
  Matrix<T>* val = nullptr;  // &param->value for parameters, &value otherwise
  Matrix<T>* grd = nullptr;  // &param->grad for parameters, &grad otherwise
  Matrix<T> value;           // unused for parameters (their value lives in the Parameter)
  Matrix<T> grad;            // unused for parameters (their gradient lives in the Parameter)
};
}  // namespace detail

/// What an op's forward and backward functions see of their node.
template <class T>
class OpContext {
 public:
  Matrix<T>& out() { return n_->value; }
  const Matrix<T>& out() const { return n_->value; }
  const Matrix<T>& in(int k) const { return *n_->inp[k]->val; }
  const Matrix<T>& grad_out() const { return n_->grad; }
  /// The gradient buffer of input k (sized and zeroed before the first contribution).
  Matrix<T>& grad_in(int k) { return *n_->inp[k]->grd; }
  bool needs_grad(int k) const { return n_->inp[k]->needs_grad; }
  T scalar() const { return n_->scalar; }

 private:
  friend class Tape<T>;
  explicit OpContext(detail::Node<T>* n) : n_(n) {}
  detail::Node<T>* n_;
};

/// A tape of matrix-valued nodes. Not thread-safe; use one tape per thread.
template <class T>
class Tape {
 public:
  Tape() = default;
  Tape(const Tape&) = delete;
  Tape& operator=(const Tape&) = delete;

  /// A leaf that reads `p.value` and accumulates into `p.grad`. The parameter must outlive the
  /// recording's use; its value is read when ops are recorded or replayed by forward().
  Var<T> parameter(Parameter<T>& p);
  /// A leaf holding a copy of `m` that needs no gradient (data, targets, identity matrices).
  Var<T> constant(const Matrix<T>& m);
  /// A 1x1 constant.
  Var<T> scalar(T v);

  /// Appends an op node: checks that the inputs belong to this tape, sizes the output, runs `forward`.
  /// This is how every op is written (see docs/adding-an-op.md).
  Var<T> record(const char* op, std::initializer_list<Var<T>> inputs, Index rows, Index cols,
                ForwardFn<T> forward, BackwardFn<T> backward, T scalar = T(0));

  /// Reverse sweep from a 1x1 node: d(loss)/d(node) for every node on a path to a parameter, and
  /// accumulates into the parameters' gradients.
  void backward(Var<T> loss);
  /// Reverse sweep from any node, with the given gradient of the same shape as the node.
  void backward(Var<T> root, const Matrix<T>& seed);

  /// Recomputes every recorded op's value in order, reading the parameters' current values.
  /// A training loop can record once and then call forward(); backward(); step() with no allocation.
  void forward();

  /// Overwrites a constant leaf's data (same shape), for replaying a graph on new inputs.
  void set_constant(Var<T> c, const Matrix<T>& m);

  /// Forgets all nodes (handles become invalid) but keeps their buffers for the next recording.
  void clear();
  std::size_t size() const { return size_; }

  /// When on, every forward value and backward gradient is checked, and the first NaN or infinity
  /// raises NonFiniteError naming the op, the node, the shapes and the pass.
  void set_anomaly_detection(bool on) { anomaly_ = on; }
  bool anomaly_detection() const { return anomaly_; }

  /// Throws TapeError unless `v` is a live node of this tape. `op` names the caller in the message.
  void check(const Var<T>& v, const char* op) const;

  // Node inspection (for graph dumps, debugging and Var's accessors).
  const Matrix<T>& value_of(std::uint32_t i) const { return *ptr_[i]->val; }
  const Matrix<T>& node_grad(std::uint32_t i) const { return *ptr_[i]->grd; }
  const char* op_name(std::uint32_t i) const { return ptr_[i]->op; }
  bool needs_grad(std::uint32_t i) const { return ptr_[i]->needs_grad; }
  bool is_parameter(std::uint32_t i) const { return ptr_[i]->param != nullptr; }
  std::vector<std::uint32_t> inputs_of(std::uint32_t i) const {
    const auto& n = *ptr_[i];
    std::vector<std::uint32_t> in;
    for (std::uint8_t k = 0; k < n.n_in; ++k) in.push_back(n.inp[k]->self);
    return in;
  }

 private:
  friend class OpContext<T>;
  friend class Var<T>;

  detail::Node<T>& push(const char* op);
  void grow(const char* op);
  Matrix<T>& grad_of(std::uint32_t i);
  void check_finite(std::uint32_t i, const Matrix<T>& m, const char* what) const;
  // By value: taking the address of an op's argument would make the compiler keep it in memory.
  [[noreturn]] void check_failed(Var<T> v, const char* op) const;
  std::uint32_t index_of(const Var<T>& v) const { return static_cast<std::uint32_t>(v.serial_ - base_); }
  Var<T> handle(std::size_t i) { return Var<T>(this, base_ + i); }
  template <class Seed>
  void backward_from(std::uint32_t root, const Seed& seed);  // seed: the root's gradient, checked
  void sweep(std::uint32_t root);
  void run_backward(detail::Node<T>* n);

  // nodes_[0, size_) are live; the rest are kept buffers. A deque, so that references to node values
  // (Var::value()) stay valid while more nodes are recorded. ptr_[i] == &nodes_[i]: one load instead of
  // the deque's two-level indexing on every hot path.
  std::deque<detail::Node<T>> nodes_;
  std::vector<detail::Node<T>*> ptr_;
  std::size_t size_ = 0;
  // The last backward sweep's plan (which nodes to zero, which backward functions to run, in order), reused
  // while the tape holds the same recording and the same root: a replayed graph pays for it once.
  std::vector<detail::Node<T>*> plan_zero_, plan_run_;
  std::uint64_t plan_base_ = 0;
  std::size_t plan_size_ = 0;  // 0: no plan
  std::uint32_t plan_root_ = 0;
  std::size_t path_marked_ = 0;  // nodes below this index may still carry on_path from an earlier sweep
  // The serial of node 0. clear() moves it past every serial handed out, so the live handles are exactly
  // those with base_ <= serial < base_ + size_.
  std::uint64_t base_ = 0;
  bool anomaly_ = false;
};

// ---------------------------------------------------------------------------------------------
// Var accessors (inline: they are on every op's path).

template <class T>
Tape<T>& Var<T>::tape() const {
  if (!tape_) throw TapeError("tapegrad: use of a default-constructed Var (it belongs to no tape)");
  return *tape_;
}
template <class T>
Index Var<T>::rows() const {
  return value().rows();
}
template <class T>
Index Var<T>::cols() const {
  return value().cols();
}
template <class T>
const Matrix<T>& Var<T>::value() const {
  tape().check(*this, "value");
  return tape_->value_of(tape_->index_of(*this));
}
template <class T>
const Matrix<T>& Var<T>::grad() const {
  tape().check(*this, "grad");
  return tape_->node_grad(tape_->index_of(*this));
}
template <class T>
const char* Var<T>::op_name() const {
  tape().check(*this, "op_name");
  return tape_->op_name(tape_->index_of(*this));
}
template <class T>
std::uint32_t Var<T>::index() const {
  tape().check(*this, "index");
  return tape_->index_of(*this);
}
template <class T>
bool Var<T>::needs_grad() const {
  tape().check(*this, "needs_grad");
  return tape_->needs_grad(tape_->index_of(*this));
}

template <class T>
inline void Tape<T>::check(const Var<T>& v, const char* op) const {
  // Inline (on every op's path, even with the extern template below); the messages are built out of line.
  // One unsigned comparison: a serial from before the last clear() wraps around to a huge difference.
  if (v.tape_ != this || v.serial_ - base_ >= size_) [[unlikely]]
    check_failed(v, op);
}

template <class T>
Matrix<T>& Tape<T>::grad_of(std::uint32_t i) {
  return *ptr_[i]->grd;
}

extern template class Tape<float>;
extern template class Tape<double>;

}  // namespace tapegrad
