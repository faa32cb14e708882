// The tape: recording (leaves, constants, op nodes), forward and replay, clearing, anomaly checks. The
// reverse sweeps are in backward.cpp.
#include "tapegrad/autodiff/tape.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "graph_optimizer.hpp"

#include "resize.hpp"

namespace tapegrad {

namespace {

using detail::resize_to;

// Bit for bit: 0.0 and -0.0 are different op parameters (1 / (x * -0.0)), and a NaN is the same as itself.
template <class T>
bool same_bits(T a, T b) {
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}

template <class T>
bool same_bits_all(const OpParams<T>& a, const OpParams<T>& b) {
  if (a.object != b.object) return false;
  for (std::size_t i = 0; i < a.values.size(); ++i)
    if (!same_bits(a.values[i], b.values[i])) return false;
  return true;
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
  // A node is made by the first recording that reaches it; later ones reuse it, and compare what they
  // record with what it held (the plan is kept while every node is the same). (grow is a function of its
  // own so that this path saves no registers.)
  if (size_ == ptr_.size()) [[unlikely]]
    grow(op);
  auto& n = *ptr_[size_];
  n.self = static_cast<std::uint32_t>(size_++);
  n.uses = 0;
  n.on_path = false;
  n.observed = false;
  return n;
}

template <class T>
void detail::TapeAnchor<T>::destroy(TapeAnchor* a) noexcept {
  delete a;
}
template struct detail::TapeAnchor<float>;
template struct detail::TapeAnchor<double>;

template <class T>
void Tape<T>::check_failed(Var<T> v, const char* op) const {
  if (v.anchor_ != anchor_) {
    throw TapeError(std::string(op) + ": the node belongs to " +
                    (!v.anchor_        ? "no tape (a default-constructed or moved-from Var)"
                     : v.anchor_->tape ? "another tape"
                                       : "a tape that has been destroyed"));
  }
  throw TapeError(std::string(op) + ": the node is from before the tape was cleared (stale handle)");
}

template <class T>
Var<T> Tape<T>::finish_record(detail::Node<T>& n, bool same) {
  if (same) ++matched_;  // the plan's decisions for this node (run, live, bypassed) still hold
  // A new node, or a tape that runs ops as written (the slot may hold a rewritten step from an optimized
  // recording), runs as recorded.
  if (!same || eager()) n.run_as_recorded();
  n.computed = n.rec.forward == nullptr;  // leaves are always computed
  if (eager() && !n.computed) run_forward(&n, n.rec);
  return handle(n.self);
}

template <class T>
Var<T> Tape<T>::parameter(Parameter<T>& p) {
  if (p.grad.rows() != p.value.rows() || p.grad.cols() != p.value.cols()) p.zero_grad();
  auto& n = push("parameter");
  const bool same = matched_ + 1 == size_ && n.kind == OpKind::parameter && n.param == &p &&
                    n.rows == p.value.rows() && n.cols == p.value.cols();
  n.rec = detail::Step<T>{};
  n.rec.op = "parameter";
  n.kind = OpKind::parameter;
  n.rows = p.value.rows();
  n.cols = p.value.cols();
  n.param = &p;
  n.val = &p.value;
  n.grd = &p.grad;
  n.needs_grad = true;
  outside_.push_back(&n);
  n.identity = false;
  return finish_record(n, same);
}

template <class T>
detail::Node<T>& Tape<T>::begin_constant(Index rows, Index cols, std::string_view name, bool& same,
                                         bool* identity) {
  auto& n = push("constant");
  const bool same_leaf = n.kind == OpKind::constant && n.rows == rows && n.cols == cols;
  same = matched_ + 1 == size_ && same_leaf;
  // Whatever held this slot before (an op's output, a view) did not leave the identity in `value`.
  if (identity) *identity = same_leaf && n.identity && n.val == &n.value;
  n.identity = false;
  n.rec = detail::Step<T>{};
  n.rec.op = "constant";
  n.kind = OpKind::constant;
  n.rows = rows;
  n.cols = cols;
  n.param = nullptr;
  n.val = &n.value;
  n.grd = &n.grad;
  n.needs_grad = false;
  n.name = name;  // no allocation for short names
  resize_to(n.value, rows, cols);
  return n;
}

template <class T>
Var<T> Tape<T>::constant(const Matrix<T>& m, std::string_view name) {
  bool same = false;
  auto& n = begin_constant(m.rows(), m.cols(), name, same);
  n.value = m;
  return finish_record(n, same);
}

template <class T>
Var<T> Tape<T>::constant_view(const Matrix<T>& m, std::string_view name) {
  bool same = false;
  auto& n = push("constant");
  same = matched_ + 1 == size_ && n.kind == OpKind::constant && n.rows == m.rows() && n.cols == m.cols();
  n.rec = detail::Step<T>{};
  n.rec.op = "constant";
  n.kind = OpKind::constant;
  n.rows = m.rows();
  n.cols = m.cols();
  n.param = nullptr;
  n.val = const_cast<Matrix<T>*>(&m);  // read only: constants get no gradient and no op writes a leaf
  n.grd = &n.grad;
  n.needs_grad = false;
  n.identity = false;
  n.name = name;
  outside_.push_back(&n);  // keeps its capacity across clear(): no allocation in the steady state
  return finish_record(n, same);
}

template <class T>
void Tape<T>::check_outside_shapes(const char* op) const {
  // The leaves whose matrix lives outside the tape (parameters, constant views) must still have the shapes
  // the graph was recorded with: the kernels would read out of bounds otherwise.
  for (const auto* n : outside_) {
    const Matrix<T>& m = *n->val;
    if (m.rows() == n->rows && m.cols() == n->cols) [[likely]]
      continue;
    if (n->param) {
      const std::string& name = n->param->name();
      throw ShapeError(std::string(op) + ": parameter " +
                       (name.empty() ? "(node " + std::to_string(n->self) + ")" : "'" + name + "'") +
                       " is now " + shape_string(m.rows(), m.cols()) + ", but the graph recorded it as " +
                       shape_string(n->rows, n->cols) +
                       "; record the graph again after changing a parameter's shape");
    }
    throw ShapeError(std::string(op) + ": the matrix behind constant_view node " + std::to_string(n->self) +
                     (n->name.empty() ? "" : " (" + n->name + ")") + " was recorded " +
                     shape_string(n->rows, n->cols) + " and is now " + shape_string(m.rows(), m.cols()));
  }
}

template <class T>
Var<T> Tape<T>::scalar(T v) {
  bool same = false;
  auto& n = begin_constant(1, 1, {}, same);
  n.value(0, 0) = v;
  return finish_record(n, same);
}

template <class T>
void Tape<T>::set_constant(Var<T> c, const Matrix<T>& m) {
  check(c, "set_constant");
  auto& n = *ptr_[index_of(c)];
  if (n.kind != OpKind::constant)
    throw TapeError("set_constant: node " + std::to_string(index_of(c)) + " is not a constant");
  if (m.rows() != n.rows || m.cols() != n.cols) {
    throw ShapeError("set_constant: cannot replace a " + shape_string(n.rows, n.cols) + " constant by a " +
                     shape_string(m.rows(), m.cols()) + " matrix");
  }
  n.val = &n.value;  // a view gets a copy of its own
  n.identity = false;
  n.value = m;
  ++epoch_;
}

template <class T>
Var<T> Tape<T>::record(const char* op, std::initializer_list<detail::InputRef<T>> inputs, Index rows,
                       Index cols, ForwardFn<T> forward, BackwardFn<T> backward, T scalar, CostFn cost) {
  return record(OpDef<T>{op, OpKind::custom, forward, backward, cost}, inputs, rows, cols, scalar);
}

template <class T>
Var<T> Tape<T>::record(const OpDef<T>& def, std::initializer_list<detail::InputRef<T>> inputs, Index rows,
                       Index cols, T scalar, std::uint32_t attr) {
  return record(def, inputs, rows, cols, scalar, attr, OpParams<T>{});
}

template <class T>
Var<T> Tape<T>::record(const OpDef<T>& def, std::initializer_list<detail::InputRef<T>> inputs, Index rows,
                       Index cols, T scalar, std::uint32_t attr, const OpParams<T>& params) {
  if (inputs.size() > 3) throw TapeError(std::string(def.name) + ": an op takes at most 3 inputs");
  if (!def.forward || !def.backward)
    throw TapeError(std::string(def.name) + ": an op needs a forward and a backward function");
  for (const auto& in : inputs) check(*in.var, def.name);
  auto& n = push(def.name);
  static constexpr OpParams<T> kNone{};
  const OpParams<T>& before = n.extra ? n.extra->params : kNone;
  bool same = matched_ + 1 == size_ && n.rec.forward == def.forward && n.rec.backward == def.backward &&
              n.kind == def.kind && n.rec.n_in == inputs.size() && n.rec.attr == attr &&
              same_bits(n.rec.scalar, scalar) && same_bits_all(before, params) && n.rows == rows &&
              n.cols == cols;
  std::uint8_t k = 0;
  bool needs_grad = false;
  for (const auto& ref : inputs) {
    auto* in = ptr_[index_of(*ref.var)];
    same = same && n.rec.inp[k] == in;
    n.rec.inp[k++] = in;
    needs_grad = needs_grad || in->needs_grad;
    ++in->uses;
  }
  if (n.extra && n.rec.forward != def.forward) n.extra->state.resize(0, 0);  // another op's state
  n.rec.op = def.name;
  n.rec.forward = def.forward;
  n.rec.backward = def.backward;
  n.rec.n_in = k;
  n.rec.attr = attr;
  n.rec.scalar = scalar;
  if (n.extra || !same_bits_all(params, kNone)) n.extras().params = params;
  n.rec.cost = def.cost;
  n.rec.first_write = def.first_write;
  n.rec.tangent = def.tangent;
  n.rec.tangent_backward = def.tangent_backward;
  n.kind = def.kind;
  n.rows = rows;
  n.cols = cols;
  n.needs_grad = needs_grad;
  n.identity = false;  // its value buffer is the op's output now
  n.param = nullptr;
  n.val = &n.value;
  n.grd = &n.grad;
  return finish_record(n, same);
}

template <class T>
void Tape<T>::run_forward(detail::Node<T>* n, const detail::Step<T>& s) {
  if (hooked_) [[unlikely]]  // anomaly detection or profiling
    return run_forward_hooked(n, s);
  resize_to(n->value, n->rows, n->cols);
  OpContext<T> ctx(n, &s);
  s.forward(ctx);
  n->computed = true;
}

template <class T>
void Tape<T>::plan() const {
  rewrites_ = detail::rewrite_graph<T>(ptr_.data(), size_);
  plan_ok_ = true;
  plan_size_ = size_;
  matched_ = size_;
  pending_ = 0;  // nodes the last plan left out may run now
  ++gen_;
}

template <class T>
void Tape<T>::evaluate() {
  ensure_plan();
  detail::Node<T>* const* p = ptr_.data();
  for (std::size_t i = pending_; i < size_; ++i) {
    detail::Node<T>* n = p[i];
    if (!n->computed && n->live) run_forward(n, n->run);
  }
  pending_ = size_;
}

template <class T>
void Tape<T>::mark_observed(detail::Node<T>* n) {
  if (n->observed) return;
  n->observed = true;
  if (!n->live || n->bypassed) plan_ok_ = false;  // the next plan keeps it as written
}

template <class T>
void Tape<T>::observe(detail::Node<T>* n) {
  mark_observed(n);
  if (!n->computed) evaluate();
}

template <class T>
void Tape<T>::deoptimize() {
  // Compute what the plan left out, as recorded, and make every node run as recorded from now on.
  evaluate();
  for (std::size_t i = 0; i < size_; ++i) {
    auto* n = ptr_[i];
    if (n->rec.forward && !n->computed) run_forward(n, n->rec);
    n->run_as_recorded();
  }
}

template <class T>
void Tape<T>::forward() {
  check_outside_shapes("forward");
  ++epoch_;
  ensure_plan();
  detail::Node<T>* const* p = ptr_.data();
  for (std::size_t i = 0; i < size_; ++i) {
    detail::Node<T>* n = p[i];
    if (!n->rec.forward) continue;
    if (n->live)
      run_forward(n, n->run);
    else
      n->computed = false;
  }
  pending_ = size_;
}

template <class T>
void Tape<T>::set_graph_optimization(bool on) {
  if (on == optimize_) return;
  if (!on && !anomaly_) deoptimize();
  optimize_ = on;
  plan_ok_ = false;
  ++gen_;
}

template <class T>
void Tape<T>::set_anomaly_detection(bool on) {
  if (on == anomaly_) return;
  if (on && optimize_) deoptimize();
  anomaly_ = on;
  hooked_ = anomaly_ || profiler_;
  plan_ok_ = false;
  ++gen_;
}

template <class T>
void Tape<T>::clear() {
  ++epoch_;
  base_ += size_;
  size_ = 0;
  outside_.clear();
  path_marked_ = 0;
  matched_ = 0;
  pending_ = 0;
}

template <class T>
void Tape<T>::check_finite(const detail::Node<T>& n, const Matrix<T>& m, const char* what) const {
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
  std::string shapes;
  for (std::uint8_t k = 0; k < n.rec.n_in; ++k) {
    const auto& x = *n.rec.inp[k];
    shapes += (k ? ", " : "") + shape_string(x.rows, x.cols);
  }
  std::string where = std::string(what) == "forward" ? "its value" : "the gradient it passes to its inputs";
  throw NonFiniteError(std::string("anomaly detection: ") + n.rec.op + " (node " + std::to_string(n.self) +
                       ", inputs " + (shapes.empty() ? "none" : shapes) + ", output " +
                       shape_string(n.rows, n.cols) + ") produced a non-finite value in the " + what +
                       " pass: " + where + " has " + std::to_string(static_cast<double>(m(r, c))) + " at (" +
                       std::to_string(r) + ", " + std::to_string(c) + ")");
}

template class Tape<float>;
template class Tape<double>;

}  // namespace tapegrad
