// Hessian-vector products: forward-over-reverse through the plan the tape runs (docs/second-order.md).
//
// At a point: one forward and one backward sweep (the loss and every node's gradient, the parameters' sent to
// the nodes' own buffers). Per direction v: a tangent forward pass in recording order (each op's
// OpDef::tangent: the value's directional derivative from the inputs' values and tangents, the parameters'
// tangents being v) and a tangent backward pass in the order the backward ran (OpDef::tangent_backward: the
// directional derivative of the op's backward, from its gradient and the gradient's tangent). The parameters'
// gradient tangents are H v. Both passes run the fused ops the graph optimizer planned (Node::run).
#include "tapegrad/autodiff/hvp.hpp"

#include <cstring>
#include <stdexcept>
#include <string>

#include "resize.hpp"

namespace tapegrad {

namespace {

using detail::resize_to;

template <class T>
bool same_matrix(const Matrix<T>& a, const Matrix<T>& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         (a.size() == 0 ||
          std::memcmp(a.data(), b.data(), sizeof(T) * static_cast<std::size_t>(a.size())) == 0);
}

}  // namespace

template <class T>
void HvpTape<T>::init() {
  tape_->check(loss_var_, "hvp");
  const auto* r = tape_->ptr_[tape_->index_of(loss_var_)];
  if (r->rows != 1 || r->cols != 1)
    throw ShapeError("hvp: the loss is " + shape_string(r->rows, r->cols) + ", not 1x1");
  for (std::size_t k = 0; k < params_.size(); ++k) {
    if (!params_[k]) throw std::invalid_argument("hvp: parameter " + std::to_string(k) + " is null");
  }
  snapshot_.resize(params_.size());
  moved_.resize(params_.size());
  gathered_.resize(params_.size());
  grad_.resize(params_.size());
  hv_.resize(params_.size());
}

template <class T>
bool HvpTape<T>::point_changed() {
  bool any = false;
  for (std::size_t k = 0; k < params_.size(); ++k) {
    moved_[k] = same_matrix(params_[k]->value, snapshot_[k]) ? 0 : 1;
    any = any || moved_[k] != 0;
  }
  return any;
}

// Sets out[k] to the sum of the node buffers of parameter k (buf(i) for the nodes i of its slot that pass
// `has`), zero when there is none: the first is copied, not added to a zeroed matrix.
// `set` is scratch (one flag per parameter).
template <class T, class Has, class Buf>
void gather_by_slot(const std::vector<std::int32_t>& slot, const std::vector<Parameter<T>*>& params,
                    std::vector<Matrix<T>>& out, std::vector<std::uint8_t>& set, Has has, Buf buf) {
  set.assign(params.size(), 0);
  for (std::size_t i = 0; i < slot.size(); ++i) {
    if (slot[i] < 0 || !has(i)) continue;
    const auto k = static_cast<std::size_t>(slot[i]);
    if (set[k])
      out[k] += buf(i);
    else
      out[k] = buf(i);
    set[k] = 1;
  }
  for (std::size_t k = 0; k < params.size(); ++k)
    if (!set[k]) out[k].setZero(params[k]->rows(), params[k]->cols());
}

template <class T>
void HvpTape<T>::check_rules() const {
  for (const auto* n : order_) {
    if (n->run.tangent && n->run.tangent_backward) continue;
    std::string what = std::string("hvp: op '") + n->run.op + "' (node " + std::to_string(n->self);
    if (n->replaced) what += std::string(", the graph optimizer's fused form of ") + n->replaced;
    throw std::logic_error(
        what +
        ") has no second-order rule (OpDef::tangent and tangent_backward), so no Hessian-vector "
        "product goes through it; docs/second-order.md lists the ops that have one");
  }
}

template <class T>
void HvpTape<T>::at_point() {
  Tape<T>& t = *tape_;
  // Recording more nodes (a borrowed tape) may change the plan: the gradient is then recomputed under it.
  const bool same_recording = t.epoch_ == epoch_ && t.size() == size_ && t.gen_ == gen_;
  // Always compared (moved_ is then exact), so that refreshing the moved snapshots below leaves every
  // snapshot equal to its parameter, whatever else forced the recomputation.
  const bool changed = point_changed();
  if (valid_ && same_recording && !changed) return;
  valid_ = false;
  t.check(loss_var_, "hvp");
  const std::uint32_t root = t.index_of(loss_var_);
  if (!same_recording || zeroed_.size() != root + 1) zeroed_.assign(root + 1, 0);
  auto* const* nodes = t.ptr_.data();
  slot_.assign(root + 1, -1);
  for (std::uint32_t i = 0; i <= root; ++i) {
    const auto* n = nodes[i];
    if (!n->param) continue;
    for (std::size_t k = 0; k < params_.size(); ++k)
      if (params_[k] == n->param) slot_[i] = static_cast<std::int32_t>(k);
  }
  order_.clear();
  const auto* r = nodes[root];
  if (r->param) {  // the loss is a 1x1 parameter: gradient 1, Hessian 0
    for (std::size_t k = 0; k < params_.size(); ++k) grad_[k].setZero(params_[k]->rows(), params_[k]->cols());
    if (slot_[root] >= 0) grad_[static_cast<std::size_t>(slot_[root])](0, 0) = T(1);
  } else {
    // The sweep sends the parameters' gradients to the nodes' own buffers (Parameter::grad is the user's)
    // and puts them back however it ends.
    struct Restore {
      detail::Node<T>* const* nodes;
      std::uint32_t root;
      ~Restore() {
        for (std::uint32_t i = 0; i <= root; ++i)
          if (nodes[i]->param) nodes[i]->grd = &nodes[i]->param->grad;
      }
    } restore{nodes, root};
    for (std::uint32_t i = 0; i <= root; ++i) {
      auto* n = nodes[i];
      if (!n->param) continue;
      n->grd = &n->grad;
      resize_to(n->grad, n->rows, n->cols);
      n->grad.setZero();
    }
    t.forward();  // the values at the parameters' current values (recorded or not, replayed or not)
    t.backward(loss_var_);
    if (r->needs_grad) {
      for (const auto& e : t.plan_run_) order_.push_back(e.node);
    }
    gather_by_slot<T>(
        slot_, params_, grad_, gathered_, [](std::size_t) { return true; },
        [&](std::size_t i) -> const Matrix<T>& { return nodes[i]->grad; });
  }
  loss_ = t.value_of(root)(0, 0);
  check_rules();
  for (std::size_t k = 0; k < params_.size(); ++k)  // only the parameters that moved: a step may move a few
    if (moved_[k]) snapshot_[k] = params_[k]->value;
  epoch_ = t.epoch_;
  size_ = t.size();
  gen_ = t.gen_;
  valid_ = true;
}

template <class T>
const std::vector<Matrix<T>>& HvpTape<T>::hvp(const std::vector<Matrix<T>>& v) {
  if (v.size() != params_.size()) {
    throw std::invalid_argument("hvp: " + std::to_string(v.size()) + " directions for " +
                                std::to_string(params_.size()) + " parameters");
  }
  for (std::size_t k = 0; k < v.size(); ++k) {
    if (v[k].rows() != params_[k]->rows() || v[k].cols() != params_[k]->cols()) {
      throw ShapeError("hvp: direction " + std::to_string(k) + " is " +
                       shape_string(v[k].rows(), v[k].cols()) + " but its parameter is " +
                       shape_string(params_[k]->rows(), params_[k]->cols()));
    }
  }
  at_point();
  if (order_.empty()) {
    for (std::size_t k = 0; k < params_.size(); ++k) hv_[k].setZero(params_[k]->rows(), params_[k]->cols());
    return hv_;
  }
  Tape<T>& t = *tape_;
  const std::uint32_t root = t.index_of(loss_var_);
  if (tv_.size() <= root) {
    tv_.resize(root + 1);
    tg_.resize(root + 1);
  }
  ready_.assign(root + 1, 0);
  // Tangent forward, in recording order (the backward's order reversed). A leaf's tangent is v for a listed
  // parameter, zero otherwise; so is that of a node that depends on no parameter. A zero tangent is written
  // once per recording (nothing else writes a leaf's tangent), not once per product: M's is m×n.
  for (auto it = order_.rbegin(); it != order_.rend(); ++it) {
    auto* n = *it;
    const auto& s = n->run;
    for (std::uint8_t k = 0; k < s.n_in; ++k) {
      const auto* m = s.inp[k];
      if (ready_[m->self]) continue;
      if (m->needs_grad && !m->param)
        throw std::logic_error("hvp: internal error: an input's tangent is not computed before its use");
      Matrix<T>& tm = tv_[m->self];
      if (slot_[m->self] >= 0) {
        resize_to(tm, m->rows, m->cols);
        tm = v[static_cast<std::size_t>(slot_[m->self])];
      } else if (!zeroed_[m->self] || tm.rows() != m->rows || tm.cols() != m->cols) {
        resize_to(tm, m->rows, m->cols);
        tm.setZero();
        zeroed_[m->self] = 1;
      }
      ready_[m->self] = 1;
    }
    resize_to(tv_[n->self], n->rows, n->cols);
    OpContext<T> ctx(n, &s, tv_.data(), tg_.data());
    s.tangent(ctx);
    ready_[n->self] = 1;
  }
  // Tangent backward, in the backward's order, into zeroed buffers (the root gradient is
  // constant: its tangent is zero).
  auto zero = [&](const detail::Node<T>* m) {
    if (ready_[m->self] & 2U) return;
    ready_[m->self] = static_cast<std::uint8_t>(ready_[m->self] | 2U);
    resize_to(tg_[m->self], m->rows, m->cols);
    tg_[m->self].setZero();
  };
  for (const auto* n : order_) {
    zero(n);
    for (std::uint8_t k = 0; k < n->run.n_in; ++k)
      if (n->run.inp[k]->needs_grad) zero(n->run.inp[k]);
  }
  for (auto* n : order_) {
    OpContext<T> ctx(n, &n->run, tv_.data(), tg_.data());
    n->run.tangent_backward(ctx);
  }
  gather_by_slot<T>(
      slot_, params_, hv_, gathered_, [&](std::size_t i) { return (ready_[i] & 2U) != 0; },
      [&](std::size_t i) -> const Matrix<T>& { return tg_[i]; });
  return hv_;
}

template class HvpTape<float>;
template class HvpTape<double>;

}  // namespace tapegrad
