// What an op is: its definition (OpDef: name, kind, forward and backward functions, cost, second-order rules)
// and what those functions see of their node (OpContext). The tape (tape.hpp) records and runs OpDefs; an op
// is written against this header (docs/adding-an-op.md).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "tapegrad/autodiff/matrix.hpp"

namespace tapegrad {

template <class T>
class Tape;
template <class T>
class HvpTape;
template <class T>
class OpContext;
template <class T>
class Parameter;

/// How an op computes its value: reads inputs, writes out() (already sized).
template <class T>
using ForwardFn = void (*)(OpContext<T>&);
/// How an op propagates: adds its contribution to grad_in(i) for every input with needs_grad(i).
template <class T>
using BackwardFn = void (*)(OpContext<T>&);

/// What one run of an op costs, counted from its shapes (docs/profiling.md gives the convention: a
/// multiply-add is 2 FLOPs, a GEMM m·n·k·2, an elementwise operation or elementary function 1 per entry, a
/// reduction of N entries N; `elements` counts every matrix entry read plus every entry written, each
/// matrix once, so bytes touched = elements · sizeof(T)).
struct OpCost {
  double flops = 0;     ///< floating-point operations
  double elements = 0;  ///< matrix entries read plus entries written
};

/// The shapes (and parameters) an op's cost is counted from.
struct OpShapes {
  Index rows = 0;                              ///< the output's rows
  Index cols = 0;                              ///< the output's columns
  Index in_rows[3] = {0, 0, 0};                ///< input k's rows
  Index in_cols[3] = {0, 0, 0};                ///< input k's columns
  bool needs_grad[3] = {false, false, false};  ///< input k receives a gradient (backward)
  std::uint8_t n_in = 0;                       ///< the number of inputs
  std::uint32_t attr = 0;                      ///< the node's op flags (OpContext::attr)
  double scalar = 0;                           ///< the node's scalar parameter (OpContext::scalar)
  /// The output's number of entries.
  Index size() const { return rows * cols; }
  /// Input k's number of entries.
  Index in_size(int k) const { return in_rows[k] * in_cols[k]; }
};

/// An op's cost: forward (backward = false) or backward (the work for the inputs with needs_grad).
using CostFn = OpCost (*)(const OpShapes&, bool backward);

/// What the graph optimizer knows an op to be (src/graph_optimizer.cpp matches on these). An op that no
/// rewrite pattern mentions is `custom`: it always runs as recorded.
enum class OpKind : std::uint8_t {
  custom,
  parameter,
  constant,
  matmul,       // A B
  transpose,    // Aᵀ
  diag,         // vector -> diagonal matrix
  square,       // A²
  sub,          // A - B
  sum,          // Σ A
  mean,         // Σ A / N
  sum_squares,  // Σ A²
  add,          // A + B
  tanh,         // elementwise activations
  sigmoid,
  relu,
  log,          // log(A), elementwise
  neg,          // -A
  mul,          // A ∘ B
  rowwise_sum,  // Σ_j A_ij
  softmax,      // attr 1: each row, 0: each column
  log_softmax,  // attr as softmax
};

/// What an op is recorded with beyond its inputs, its scalar and its flags (Tape::record): up to four more
/// numbers (clamp's bounds, a Huber loss's δ, ...) and a pointer to an object the op uses but does not own
/// (a collective op's communicator), which must outlive the tape's use of the node. Held in the node, so
/// recording one allocates nothing; re-recording with other values re-plans the graph, as other scalars do.
template <class T>
struct OpParams {
  std::array<T, 4> values{};     ///< OpContext::param(i)
  const void* object = nullptr;  ///< OpContext::object<O>()
};

/// An op's definition: its name, kind, forward and backward, and optionally its cost (for the profiler;
/// null: unknown). Ops that the graph optimizer produces or matches are recorded from one of these (see
/// Tape::record).
template <class T>
struct OpDef {
  const char* name;        ///< the op's name, as op_name() reports it
  OpKind kind;             ///< what the graph optimizer knows the op to be
  ForwardFn<T> forward;    ///< computes the value
  BackwardFn<T> backward;  ///< adds (or, with first_write, writes) the inputs' gradient contributions
  CostFn cost = nullptr;   ///< FLOPs and entries touched from the shapes, for the profiler (null: unknown)
  /// The backward may be told to write an input's gradient instead of adding to it (OpContext::first):
  /// it writes the whole buffer, input by input in order. Otherwise the tape zeroes the buffer first.
  bool first_write = false;
  /// Second order (docs/second-order.md), null when the op has none (hvp() then throws naming it):
  /// the tangent of the value from the inputs' values and tangents (writes tangent_out(), already sized).
  ForwardFn<T> tangent = nullptr;
  /// The tangent of the backward: adds to grad_in_tangent(k) (zeroed) for every input with needs_grad(k),
  /// from the values, the tangents, grad_out() and grad_out_tangent(). Never writes first: no first_write
  /// here.
  BackwardFn<T> tangent_backward = nullptr;
};

namespace detail {

/// Matrix<T>::Identity(r, c): a constant that needs writing only once.
template <class Derived>
struct is_identity_expr : std::false_type {};
template <class S, class P>
struct is_identity_expr<Eigen::CwiseNullaryOp<Eigen::internal::scalar_identity_op<S>, P>> : std::true_type {};
template <class T>
struct Node;

/// One computation: the function pair, its inputs and parameters. A node keeps the step it was recorded
/// with (`rec`) and the step that runs (`run`): the same unless the graph optimizer rewrote the node into a
/// fused form (which computes the same value from other nodes).
template <class T>
struct Step {
  const char* op = "";
  ForwardFn<T> forward = nullptr;                 // null for leaves
  BackwardFn<T> backward = nullptr;               // null for leaves
  Node<T>* inp[3] = {nullptr, nullptr, nullptr};  // input nodes (deque elements never move)
  std::uint8_t n_in = 0;
  std::uint32_t attr = 0;          // op parameter: flags (matmul's transposes, ...)
  T scalar = T(0);                 // op parameter: exponent, scalar operand, divisor, ...
  CostFn cost = nullptr;           // the op's cost from its shapes (the profiler's FLOPs and bytes), if known
  bool first_write = false;        // OpDef::first_write
  ForwardFn<T> tangent = nullptr;  // OpDef::tangent (second order; null: none)
  BackwardFn<T> tangent_backward = nullptr;  // OpDef::tangent_backward
};

/// What few nodes need, apart so that every node stays small: the op's further parameters and its own
/// state. Made by the node's first use of either (once per node slot: kept across replays and clears).
template <class T>
struct NodeExtra {
  OpParams<T> params;
  Matrix<T> state;
};

template <class T>
struct Node {
  Step<T> rec;  // as recorded
  Step<T> run;  // as planned by the graph optimizer (== rec when not rewritten)
  const char* replaced =
      nullptr;               // for a rewritten node: the pattern it replaced ("matmul(A, transpose(B))")
  Index rows = 0, cols = 0;  // the value's shape, known when recorded
  std::uint32_t self = 0;    // this node's index
  std::uint32_t uses = 0;    // how many recorded nodes take this one as an input
  OpKind kind = OpKind::custom;
  bool needs_grad = false;
  bool on_path = false;    // set while planning a backward sweep: this node's gradient is wanted
  bool computed = false;   // value holds the value for the parameters' current values
  bool live = true;        // the plan computes this node (false: every use was rewritten away)
  bool bypassed = false;   // a use of this node was rewritten to read its inputs: its gradient is partial
  bool observed = false;   // the user read its value or gradient, or swept from it: rewrites keep it
  bool identity = false;   // a constant whose value holds the identity matrix of its shape
  std::uint8_t first = 0;  // during its backward: bit k set if it is the first to write input k's gradient
  Parameter<T>* param = nullptr;
  std::string name;          // a constant's name, for graph pictures
  Matrix<T>* val = nullptr;  // &param->value for parameters, &value otherwise
  Matrix<T>* grd = nullptr;  // &param->grad for parameters, &grad otherwise
  Matrix<T> value;           // unused for parameters (their value lives in the Parameter)
  Matrix<T> grad;            // unused for parameters (their gradient lives in the Parameter)
  // The recorded op's further parameters (OpContext::param, ::object: a rewritten node's fused step reads
  // none) and its own state (OpContext::state: kept across replays, emptied when the node is recorded with
  // another op); null until the node first has either.
  std::unique_ptr<NodeExtra<T>> extra;

  /// The extra part, made on first use.
  NodeExtra<T>& extras() {
    if (!extra) extra = std::make_unique<NodeExtra<T>>();
    return *extra;
  }

  /// Runs its recorded step: no rewrite, computed by the plan.
  void run_as_recorded() {
    run = rec;
    live = true;
    bypassed = false;
    replaced = nullptr;
  }
};
}  // namespace detail

/// What an op's forward and backward functions see of their node.
template <class T>
class OpContext {
 public:
  /// The node's value, to write in forward (already sized to the recorded shape).
  Matrix<T>& out() { return n_->value; }
  /// The node's value (in backward: the forward result).
  const Matrix<T>& out() const { return n_->value; }
  /// The value of input k.
  const Matrix<T>& in(int k) const { return *s_->inp[k]->val; }
  /// The gradient of the loss with respect to this node (in backward).
  const Matrix<T>& grad_out() const { return n_->grad; }
  /// The gradient buffer of input k: sized, and zeroed before the first contribution unless first(k).
  Matrix<T>& grad_in(int k) { return *s_->inp[k]->grd; }
  /// For an op whose OpDef sets first_write: true when this backward is the first of the sweep to write
  /// input k's gradient, whose buffer then has its shape but stale values: write it (`=`, GEMM beta 0)
  /// instead of adding. An input that appears twice is first only at its first position.
  bool first(int k) const { return ((n_->first >> k) & 1U) != 0; }
  /// GEMM's beta for input k's gradient: 0 when first(k), else 1.
  T beta(int k) const { return first(k) ? T(0) : T(1); }
  /// grad_in(k) = x when first(k), else grad_in(k) += x.
  template <class X>
  void add_to_grad(int k, const X& x) {
    if (first(k))
      grad_in(k).noalias() = x;
    else
      grad_in(k).noalias() += x;
  }
  /// Whether input k wants a gradient (backward skips it otherwise).
  bool needs_grad(int k) const { return s_->inp[k]->needs_grad; }
  /// The op's scalar parameter as recorded (exponent, scalar operand, ...).
  T scalar() const { return s_->scalar; }
  /// The op's flags as recorded.
  std::uint32_t attr() const { return s_->attr; }
  /// The op's parameter i (0 to 3) as recorded (OpParams::values).
  T param(int i) const { return n_->extra ? n_->extra->params.values[static_cast<std::size_t>(i)] : T(0); }
  /// The object the op was recorded with (OpParams::object), as an O.
  template <class O>
  const O& object() const {
    return *static_cast<const O*>(n_->extra->params.object);  // set: the op was recorded with one
  }
  /// A matrix that belongs to this node's op: kept, with its buffer, across replays and re-recordings of
  /// the same op (empty until the op first writes it; emptied when the node is recorded with another op). A
  /// forward may save an intermediate in it for its backward, or any of the op's functions may use it as work
  /// space (work()); each op decides which.
  Matrix<T>& state() { return n_->extras().state; }
  /// Work space of at least n entries in state(): it grows to the largest n asked for and is then reused, so
  /// a replay allocates nothing. Valid until the next call of work() or state() in this node.
  T* work(Index n) {
    Matrix<T>& s = state();
    if (s.size() < n) s.resize(n, 1);
    return s.data();
  }

  // Second order (OpDef::tangent and tangent_backward; docs/second-order.md). Only valid in those functions.
  /// The tangent (directional derivative) of input k's value: zero for an input with no needs_grad(k).
  const Matrix<T>& tangent_in(int k) const { return tv_[s_->inp[k]->self]; }
  /// This node's tangent, to write in the tangent rule (already sized); read in the tangent backward.
  Matrix<T>& tangent_out() { return tv_[n_->self]; }
  /// This node's tangent (in the tangent backward).
  const Matrix<T>& tangent_out() const { return tv_[n_->self]; }
  /// The tangent of this node's gradient (of grad_out()).
  const Matrix<T>& grad_out_tangent() const { return tg_[n_->self]; }
  /// The tangent of input k's gradient: sized and zeroed; add to it, for inputs with needs_grad(k) only.
  Matrix<T>& grad_in_tangent(int k) { return tg_[s_->inp[k]->self]; }

 private:
  friend class Tape<T>;
  friend class HvpTape<T>;
  OpContext(detail::Node<T>* n, const detail::Step<T>* s, Matrix<T>* tv = nullptr, Matrix<T>* tg = nullptr)
      : n_(n), s_(s), tv_(tv), tg_(tg) {}
  detail::Node<T>* n_;
  const detail::Step<T>* s_;
  Matrix<T>* tv_;  // tangents of the values, by node index (HvpTape)
  Matrix<T>* tg_;  // tangents of the gradients, by node index
};

}  // namespace tapegrad
