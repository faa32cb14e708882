// The tape: a linear record of matrix-valued nodes, and one reverse sweep over it.
//
// Every op appends one node, so creation order is a topological order and backward() is a single reverse
// loop: no sort, no recursion. Nodes are indices into the tape. Values are computed when first needed, after
// the graph optimizer has planned the recording (docs/graph-optimizer.md). clear() forgets the nodes but
// keeps their buffers (and the plan, while the same graph is recorded again), so a training loop that records
// the same graph every step stops allocating after the first one; forward() replays a recorded graph on new
// parameter values without recording anything.
#pragma once

#include <cstdint>
#include <deque>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tapegrad/autodiff/matrix.hpp"
#include "tapegrad/autodiff/op.hpp"

namespace tapegrad {

template <class T>
class Tape;

namespace detail {
// A tape's identity, shared by the tape and the Vars it hands out: an intrusive count of its holders (not
// atomic: a tape and its Vars are used by one thread at a time, like the tape itself). The tape sets `tape`
// to null when it is destroyed and whichever holder lets go last frees the anchor, so a Var that outlives
// its tape finds the tape gone instead of reading freed memory, and a new tape made at the same address has
// an anchor of its own.
template <class T>
struct TapeAnchor {
  Tape<T>* tape;
  std::size_t holders;
  // Drops one holder; frees the anchor with the last. The delete is out of line (tape.cpp): cold, and
  // GCC 12's -Wuse-after-free cannot see through an inlined reference count.
  static void release(TapeAnchor* a) noexcept {
    if (a && --a->holders == 0) destroy(a);
  }
  static void destroy(TapeAnchor* a) noexcept;
};
}  // namespace detail

/// A trainable matrix with its gradient. It lives outside any tape, so it outlives tape clears.
/// Gradients accumulate (+=) across backward passes until zero_grad(), as in PyTorch.
template <class T>
class Parameter {
 public:
  /// An empty parameter (0x0).
  Parameter() = default;
  /// A parameter with this initial value and a zero gradient of its shape; `name` labels it in graph pictures
  /// and checkpoints.
  explicit Parameter(Matrix<T> initial, std::string name = {})
      : value(std::move(initial)),
        grad(Matrix<T>::Zero(value.rows(), value.cols())),
        name_(std::move(name)) {}

  Matrix<T> value;  ///< The current value; optimizers update it in place.
  Matrix<T> grad;   ///< d(loss)/d(value), accumulated over backward passes; same shape as value.

  /// Sets the gradient to zero, of the value's shape (PyTorch's p.grad.zero_()).
  void zero_grad() { grad.setZero(value.rows(), value.cols()); }
  /// The name given at construction (empty if none).
  const std::string& name() const { return name_; }
  /// The value's row count.
  Index rows() const { return value.rows(); }
  /// The value's column count.
  Index cols() const { return value.cols(); }

 private:
  std::string name_;
};

/// A handle to one node of a tape. Cheap to copy (two words and a count). Using it after its tape was
/// cleared or destroyed, or with nodes of another tape, throws TapeError.
template <class T>
class Var {
 public:
  /// A handle to no node: every accessor throws TapeError.
  Var() = default;
  /// Another handle to the same node.
  Var(const Var& o) noexcept : anchor_(o.anchor_), serial_(o.serial_) {
    if (anchor_) ++anchor_->holders;
  }
  /// Leaves `o` a handle to no node, like a default-constructed Var.
  Var(Var&& o) noexcept : anchor_(o.anchor_), serial_(o.serial_) { o.anchor_ = nullptr; }
  /// Makes this a handle to o's node.
  Var& operator=(const Var& o) noexcept {
    if (o.anchor_) ++o.anchor_->holders;  // before release(): o may be *this
    release();
    anchor_ = o.anchor_;
    serial_ = o.serial_;
    return *this;
  }
  /// Takes o's node; leaves `o` a handle to no node.
  Var& operator=(Var&& o) noexcept {
    if (this != &o) {
      release();
      anchor_ = o.anchor_;
      serial_ = o.serial_;
      o.anchor_ = nullptr;
    }
    return *this;
  }
  ~Var() { release(); }

  /// The tape the node is on; throws TapeError for a default-constructed Var.
  Tape<T>& tape() const;
  /// The node's row count (known when recorded: computes nothing).
  Index rows() const;
  /// The node's column count (known when recorded: computes nothing).
  Index cols() const;
  /// The node's value: computed first (with what it depends on) if it is not yet. The reference stays valid
  /// while more nodes are recorded, until clear().
  const Matrix<T>& value() const;
  /// The value of a 1x1 node as a scalar (PyTorch's .item()); throws ShapeError for any other shape.
  T item() const;
  /// The gradient of the last backward()'s root with respect to this node, for a node that depends on a
  /// parameter: zero of the node's shape if that root does not depend on it (it was not reached, or was
  /// recorded after the root). A parameter's node gives the parameter's accumulated gradient. Throws
  /// TapeError for a node that has no gradient (a constant, or a node computed from constants only: make
  /// the leaf a Parameter to get one) and when no backward() has run since the node was recorded.
  const Matrix<T>& grad() const;
  /// The name of the op that made this node ("matmul", "parameter", ...).
  const char* op_name() const;
  /// The node's position on its tape (recording order).
  std::uint32_t index() const;
  /// True if the node depends on a parameter (it has a gradient); false for constants and what is made
  /// from constants only.
  bool needs_grad() const;

 private:
  friend class Tape<T>;
  Var(detail::TapeAnchor<T>* anchor, std::uint64_t serial) noexcept : anchor_(anchor), serial_(serial) {
    ++anchor_->holders;
  }
  void release() noexcept { detail::TapeAnchor<T>::release(anchor_); }
  // The tape, after checking that this handle is one of its live nodes (TapeError naming `op` if not); i:
  // the node's index.
  Tape<T>& checked(const char* op, std::uint32_t& i) const;
  // anchor_ identifies the tape (and outlives it while this handle does). serial_ numbers the node among all
  // the nodes its tape has recorded since it was made; serials are never reused, so a handle from before a
  // clear() is known to be stale (see Tape::check).
  detail::TapeAnchor<T>* anchor_ = nullptr;
  std::uint64_t serial_ = 0;
};

namespace detail {
// An op's input as Tape::record takes it (`t.record(def, {a, b}, ...)`): a reference to the caller's Var, so
// that recording copies no handle (a copy counts the tape's holders up and down).
template <class T>
struct InputRef {
  InputRef(const Var<T>& v) : var(&v) {}  // NOLINT(google-explicit-constructor): {a, b} converts
  const Var<T>* var;
};
}  // namespace detail

class Profiler;

/// A tape of matrix-valued nodes. Not thread-safe; use one tape per thread.
///
/// With the graph optimizer on (the default), recording an op checks shapes and appends a node but
/// computes nothing: values are computed when first needed (a value() or grad(), backward(), forward()),
/// after a rewrite pass has turned the recorded formula into fused kernels (matmul(A, transpose(B)) into
/// one GEMM with a transpose flag, mean(square(a - b)) into one pass, ...; docs/graph-optimizer.md). A
/// node whose value or gradient is read, or that is swept from, keeps its meaning: reading it makes it
/// computed, and later plans keep it. Parameters are read when the values are computed, so change a
/// parameter only after the backward pass (as an optimizer step does), and read an intermediate node
/// before that step: a node the plan left out is computed when first read, from the parameters as they are.
/// With the optimizer off, or with anomaly detection on, every op runs as it is recorded, exactly as written.
template <class T>
class Tape {
 public:
  /// An empty tape, with the graph optimizer on and anomaly detection off.
  Tape() = default;
  Tape(const Tape&) = delete;
  Tape& operator=(const Tape&) = delete;
  /// Its Vars stay safe to hold: using one afterwards throws TapeError ("its tape has been destroyed").
  ~Tape() {
    anchor_->tape = nullptr;
    detail::TapeAnchor<T>::release(anchor_);
  }

  /// A leaf that reads `p.value` and accumulates into `p.grad`. The parameter must outlive the
  /// recording's use; its value is read when the graph's values are computed (or replayed by forward()).
  Var<T> parameter(Parameter<T>& p);
  /// A leaf holding a copy of `m` that needs no gradient (data, targets, identity matrices). `name`
  /// labels it in graph pictures.
  Var<T> constant(const Matrix<T>& m, std::string_view name = {});
  /// The same from any Eigen expression (`Matrix<T>::Identity(n, n)`, ...), evaluated straight into the
  /// node's buffer: re-recording it allocates nothing.
  /// An identity matrix (`Matrix<T>::Identity(n, n)`) re-recorded in the same place with the same shape is
  /// not written again: the node already holds it.
  template <class Derived>
  Var<T> constant(const Eigen::MatrixBase<Derived>& m, std::string_view name = {}) {
    bool same = false, identity = false;
    auto& n = begin_constant(m.rows(), m.cols(), name, same, &identity);
    if constexpr (detail::is_identity_expr<Derived>::value) {
      if (!identity) n.value = m;
      n.identity = true;
    } else {
      n.value = m;
    }
    return finish_record(n, same);
  }
  /// A leaf that reads `m` itself instead of a copy, like `torch.from_numpy`: recording it copies
  /// nothing (for a large data matrix re-recorded every step), and forward() sees changes to m's entries.
  /// `m` must outlive the tape's use of the node and keep its shape: forward() and backward() throw
  /// ShapeError if it changed. set_constant() gives the node a copy of its own.
  Var<T> constant_view(const Matrix<T>& m, std::string_view name = {});
  /// A temporary would be gone before the tape reads it.
  Var<T> constant_view(Matrix<T>&& m, std::string_view name = {}) = delete;
  /// A 1x1 constant.
  Var<T> scalar(T v);

  /// Appends an op node: checks that the inputs belong to this tape, records the op and its output shape.
  /// This is how every op is written (see docs/adding-an-op.md); `forward` runs when the value is needed.
  Var<T> record(const char* op, std::initializer_list<detail::InputRef<T>> inputs, Index rows, Index cols,
                ForwardFn<T> forward, BackwardFn<T> backward, T scalar = T(0), CostFn cost = nullptr);
  /// The same from an op definition, with the op's kind (for the graph optimizer) and parameters.
  Var<T> record(const OpDef<T>& def, std::initializer_list<detail::InputRef<T>> inputs, Index rows,
                Index cols, T scalar = T(0), std::uint32_t attr = 0);
  /// The same with more parameters (up to four numbers and an object the op uses: OpParams), held in the
  /// node: an op needs no extra constant or global for them.
  Var<T> record(const OpDef<T>& def, std::initializer_list<detail::InputRef<T>> inputs, Index rows,
                Index cols, T scalar, std::uint32_t attr, const OpParams<T>& params);

  /// Reverse sweep from a 1x1 node: d(loss)/d(node) for every node on a path to a parameter, and
  /// accumulates into the parameters' gradients.
  void backward(Var<T> loss);
  /// Reverse sweep from any node, starting from root_grad, the root gradient: d(something)/d(root), of the
  /// root's shape.
  void backward(Var<T> root, const Matrix<T>& root_grad);

  /// Recomputes every recorded op's value in order, reading the parameters' current values.
  /// A training loop can record once and then call forward(); backward(); step() with no allocation.
  void forward();

  /// Overwrites a constant leaf's data (same shape), for replaying a graph on new inputs.
  void set_constant(Var<T> c, const Matrix<T>& m);

  /// Forgets all nodes (handles become invalid) but keeps their buffers for the next recording. A
  /// recording with the same structure as the last one reuses its plan (no rewrite pass).
  void clear();
  /// The number of recorded nodes.
  std::size_t size() const { return size_; }

  /// Turns the graph optimizer on (the default) or off. Off, every op runs when it is recorded, as
  /// written: the reference that the optimized graph is tested against. Values already recorded are
  /// computed first.
  void set_graph_optimization(bool on);
  /// Whether the graph optimizer is on.
  bool graph_optimization() const { return optimize_; }

  /// When on, every forward value and backward gradient is checked, and the first NaN or infinity
  /// raises NonFiniteError naming the op, the node, the shapes and the pass. Ops then run when recorded
  /// and as written (no rewrites), so the error comes from the op that made the value.
  void set_anomaly_detection(bool on);
  /// Whether anomaly detection is on.
  bool anomaly_detection() const { return anomaly_; }

  /// Records every op this tape runs, forward and backward, into `profiler` (its name after the rewrites,
  /// shapes, wall time, FLOPs and bytes: tapegrad/autodiff/profiler.hpp); null turns profiling off. Off, the
  /// sweeps take no extra branch (the check shares anomaly detection's). The profiler must outlive its use.
  void set_profiler(Profiler* profiler) {
    profiler_ = profiler;
    hooked_ = anomaly_ || profiler_;
  }
  /// The profiler set_profiler() attached, or null.
  Profiler* profiler() const { return profiler_; }

  /// Throws TapeError unless `v` is a live node of this tape. `op` names the caller in the message.
  void check(const Var<T>& v, const char* op) const;

  /// Computes every recorded value that is not computed yet (after planning the rewrites).
  void evaluate();

  // Node inspection (for graph dumps, debugging and Var's accessors).
  /// The node's value, computed first if needed (a node the plan elided is then computed, and kept).
  const Matrix<T>& value_of(std::uint32_t i) {
    auto* n = ptr_[i];
    if (!n->observed || !n->computed) [[unlikely]]
      observe(n);
    return *n->val;
  }
  /// The value buffer as it is (no computation): what value_of gives once computed.
  const Matrix<T>& stored_value(std::uint32_t i) const { return *ptr_[i]->val; }
  /// Whether node i's value is computed for the parameters' current values.
  bool is_computed(std::uint32_t i) const { return ptr_[i]->computed; }
  /// Node i's gradient buffer as it is (no check; Var::grad() is the checked way).
  const Matrix<T>& node_grad(std::uint32_t i) const { return *ptr_[i]->grd; }
  /// The name of the op recorded at node i.
  const char* op_name(std::uint32_t i) const { return ptr_[i]->rec.op; }
  /// The kind of the op recorded at node i.
  OpKind op_kind(std::uint32_t i) const { return ptr_[i]->kind; }
  /// Node i's row count.
  Index rows_of(std::uint32_t i) const { return ptr_[i]->rows; }
  /// Node i's column count.
  Index cols_of(std::uint32_t i) const { return ptr_[i]->cols; }
  /// Whether node i depends on a parameter.
  bool needs_grad(std::uint32_t i) const { return ptr_[i]->needs_grad; }
  /// Whether node i is a parameter leaf.
  bool is_parameter(std::uint32_t i) const { return ptr_[i]->param != nullptr; }
  /// The name of node i's parameter (node i must be a parameter leaf).
  const std::string& parameter_name(std::uint32_t i) const { return ptr_[i]->param->name(); }
  /// The inputs as recorded.
  std::vector<std::uint32_t> inputs_of(std::uint32_t i) const { return inputs(ptr_[i]->rec); }

  /// The name a constant was given (empty if none).
  const std::string& constant_name(std::uint32_t i) const { return ptr_[i]->name; }

  // The plan (what runs after the rewrites). A plan is a cache of the recording: these make it first if
  // the recording changed since the last one.
  /// False for a node every use of which was rewritten away: it is not computed.
  bool runs(std::uint32_t i) const;
  /// The op that runs at node i: op_name(i), or the fused op that replaced it ("matmul_nt", "mse", ...).
  const char* run_op_name(std::uint32_t i) const;
  /// The pattern a fused node replaced ("mean(square(a - b))"), or null.
  const char* replaced_pattern(std::uint32_t i) const;
  /// The inputs of what runs at node i.
  std::vector<std::uint32_t> run_inputs_of(std::uint32_t i) const;

 private:
  friend class OpContext<T>;
  friend class Var<T>;
  friend class HvpTape<T>;

  detail::Node<T>& push(const char* op);
  void grow(const char* op);
  void check_finite(const detail::Node<T>& n, const Matrix<T>& m, const char* what) const;
  // By value: taking the address of an op's argument would make the compiler keep it in memory.
  [[noreturn]] void check_failed(Var<T> v, const char* op) const;
  std::uint32_t index_of(const Var<T>& v) const { return static_cast<std::uint32_t>(v.serial_ - base_); }
  Var<T> handle(std::size_t i) { return Var<T>(anchor_, base_ + i); }
  static std::vector<std::uint32_t> inputs(const detail::Step<T>& s) {
    std::vector<std::uint32_t> in;
    for (std::uint8_t k = 0; k < s.n_in; ++k) in.push_back(s.inp[k]->self);
    return in;
  }
  Var<T> finish_record(detail::Node<T>& n, bool same);
  detail::Node<T>& begin_constant(Index rows, Index cols, std::string_view name, bool& same,
                                  bool* identity = nullptr);
  // Parameters and constant views resized since they were recorded would be read out of bounds: ShapeError
  // naming them.
  void check_outside_shapes(const char* op) const;
  void mark_observed(detail::Node<T>* n);  // the user reads n: later plans keep it as written
  void observe(detail::Node<T>* n);        // ... and compute it now
  void deoptimize();                       // computes every node, and makes each run as recorded
  bool plan_current() const { return plan_ok_ && plan_size_ == size_ && matched_ == size_; }
  void plan() const;
  void ensure_plan() const {
    if (!eager() && !plan_current()) plan();
  }
  void run_forward(detail::Node<T>* n, const detail::Step<T>& s);
  // run_forward / run_backward with anomaly detection or profiling on (profiler.cpp).
  void run_forward_hooked(detail::Node<T>* n, const detail::Step<T>& s);
  void run_backward_hooked(detail::Node<T>* n, const detail::Step<T>& s);
  template <class RootGrad>
  void backward_from(std::uint32_t root, const RootGrad& root_grad);  // root_grad: checked
  void sweep(std::uint32_t root);
  void sweep_steps(std::uint32_t root, detail::Step<T> detail::Node<T>::*step, bool write_plan);
  void run_backward(detail::Node<T>* n, const detail::Step<T>& s);
  void unfused_gradients();  // recompute the last sweep as recorded, for grad() of a rewritten node
  const Matrix<T>& observed_grad(std::uint32_t i);
  void grad_available(std::uint32_t i) const;  // throws TapeError if node i has no gradient to read

  // nodes_[0, size_) are live; the rest are kept buffers. A deque, so that references to node values
  // (Var::value()) stay valid while more nodes are recorded. ptr_[i] == &nodes_[i]: one load instead of
  // the deque's two-level indexing on every hot path.
  std::deque<detail::Node<T>> nodes_;
  std::vector<detail::Node<T>*> ptr_;
  std::size_t size_ = 0;
  // The plan of rewrites (in the nodes' run steps and live flags) covers nodes [0, plan_size_) and holds
  // while the recording is the one it was made for: matched_ counts the leading nodes recorded since the
  // last clear() that are the same as the nodes the plan saw in their slots.
  // (mutable: the plan is a cache of the recording, which const inspection may fill.)
  mutable std::size_t plan_size_ = 0;
  mutable std::size_t matched_ = 0;
  mutable bool plan_ok_ = false;
  mutable std::size_t pending_ = 0;  // nodes below this index are computed, or not live
  // Counts changes of the graph that runs (a new plan, a recording that differs from the last): the
  // backward plan below is kept while it is unchanged.
  mutable std::uint64_t gen_ = 1;
  // The last backward sweep's plan (which nodes to zero, which backward functions to run, in order), reused
  // while the graph and the root are the same: a replayed or re-recorded graph pays for it once.
  struct Planned {
    detail::Node<T>* node;
    std::uint8_t first;  // Node::first for its backward
  };
  std::vector<detail::Node<T>*> plan_zero_;
  std::vector<Planned> plan_run_;
  std::vector<detail::Node<T>*> outside_;  // parameter and constant_view nodes: their shapes are checked
  std::uint64_t bplan_gen_ = 0;
  std::size_t bplan_size_ = 0;  // 0: no plan
  std::uint32_t bplan_root_ = 0;
  std::size_t path_marked_ = 0;  // nodes below this index may still carry on_path from an earlier sweep
  // The last sweep's root (for unfused_gradients, which finds the root gradient still in the root's grad).
  std::uint64_t last_root_serial_ = ~std::uint64_t{0};
  std::uint64_t backward_root_serial_ = ~std::uint64_t{0};  // the last backward()'s root, whatever it was
  bool unfused_valid_ = false;                              // unfused_gradients() ran after the last sweep
  bool sweep_rewritten_ = false;                            // the last sweep ran a plan with rewrites
  std::uint64_t sweep_gen_ = 0;                             // ... made at this generation
  mutable std::size_t rewrites_ = 0;                        // how many nodes the plan rewrote
  // The serial of node 0. clear() moves it past every serial handed out, so the live handles are exactly
  // those with base_ <= serial < base_ + size_.
  std::uint64_t base_ = 0;
  detail::TapeAnchor<T>* anchor_ = new detail::TapeAnchor<T>{this, 1};  // this tape's identity (shared)
  bool optimize_ = true;
  bool anomaly_ = false;
  bool hooked_ = false;  // anomaly_ or a profiler: run_forward and run_backward take the hooked path
  Profiler* profiler_ = nullptr;
  bool eager() const { return !optimize_ || anomaly_; }
  // Counts what may change values or gradients (forward, backward, set_constant, clear): HvpTape keeps its
  // gradient while this is unchanged.
  std::uint64_t epoch_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Var accessors (inline: they are on every op's path).

template <class T>
Tape<T>& Var<T>::tape() const {
  if (!anchor_) [[unlikely]]
    throw TapeError("tapegrad: use of a Var that belongs to no tape (default-constructed or moved from)");
  if (!anchor_->tape) [[unlikely]]
    throw TapeError("tapegrad: use of a Var whose tape has been destroyed");
  return *anchor_->tape;
}
template <class T>
Tape<T>& Var<T>::checked(const char* op, std::uint32_t& i) const {
  Tape<T>& t = tape();
  t.check(*this, op);
  i = t.index_of(*this);
  return t;
}
template <class T>
Index Var<T>::rows() const {
  std::uint32_t i;
  return checked("rows", i).rows_of(i);
}
template <class T>
Index Var<T>::cols() const {
  std::uint32_t i;
  return checked("cols", i).cols_of(i);
}
template <class T>
const Matrix<T>& Var<T>::value() const {
  std::uint32_t i;
  return checked("value", i).value_of(i);
}
template <class T>
T Var<T>::item() const {
  std::uint32_t i;
  Tape<T>& t = checked("item", i);
  if (t.rows_of(i) != 1 || t.cols_of(i) != 1) {
    throw ShapeError(std::string("item: node ") + std::to_string(i) + " (" + t.op_name(i) + ") is " +
                     shape_string(t.rows_of(i), t.cols_of(i)) + ", not 1x1; read it with value()");
  }
  return t.value_of(i)(0, 0);
}
template <class T>
const Matrix<T>& Var<T>::grad() const {
  std::uint32_t i;
  return checked("grad", i).observed_grad(i);
}
template <class T>
const char* Var<T>::op_name() const {
  std::uint32_t i;
  return checked("op_name", i).op_name(i);
}
template <class T>
std::uint32_t Var<T>::index() const {
  std::uint32_t i;
  checked("index", i);
  return i;
}
template <class T>
bool Var<T>::needs_grad() const {
  std::uint32_t i;
  return checked("needs_grad", i).needs_grad(i);
}

template <class T>
inline void Tape<T>::check(const Var<T>& v, const char* op) const {
  // Inline (on every op's path, even with the extern template below); the messages are built out of line.
  // One unsigned comparison: a serial from before the last clear() wraps around to a huge difference.
  if (v.anchor_ != anchor_ || v.serial_ - base_ >= size_) [[unlikely]]
    check_failed(v, op);
}

/// \cond
extern template class Tape<float>;
extern template class Tape<double>;
/// \endcond

}  // namespace tapegrad
