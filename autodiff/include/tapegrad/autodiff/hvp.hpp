// Hessian-vector products through the tape: forward-over-reverse with a tangent rule per op
// (docs/second-order.md).
//
// One HVP at a point costs a forward and a backward pass (the loss and the gradient, computed once per
// point) plus a tangent forward pass and a tangent backward pass (about one forward and two backward passes):
// about 3 gradients for the first product at a point, about 2 for each further product at the same point.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "tapegrad/autodiff/tape.hpp"

namespace tapegrad {

/// Hessian-vector products of a scalar loss recorded once, replayed for many directions (conjugate
/// gradients) and for new parameter values. Steady state (the same point, or a new point of the same
/// shapes), hvp() allocates nothing.
///
/// The gradient is computed into the tape's own buffers: the parameters' `grad` is left untouched.
/// Parameters recorded on the tape but not listed are held fixed (their direction is zero).
template <class T>
class HvpTape {
 public:
  /// Records f(tape) on a tape of its own; f returns the scalar (1x1) loss.
  template <class F>
  HvpTape(F&& f, std::vector<Parameter<T>*> params)
      : own_(std::make_unique<Tape<T>>()), tape_(own_.get()), params_(std::move(params)) {
    loss_var_ = std::forward<F>(f)(*tape_);
    init();
  }
  /// Borrows a tape on which `loss` is recorded (it must outlive this object and not be cleared while in
  /// use).
  HvpTape(Tape<T>& tape, Var<T> loss, std::vector<Parameter<T>*> params)
      : tape_(&tape), loss_var_(loss), params_(std::move(params)) {
    init();
  }

  /// H v at the parameters' current values: v holds one matrix per parameter, of its shape. The returned
  /// matrices (one per parameter) stay valid until the next call. Recomputes the loss and the gradient first
  /// if the point changed (a parameter's value, or anything run on the tape) since the last call.
  const std::vector<Matrix<T>>& hvp(const std::vector<Matrix<T>>& v);
  /// The loss at the parameters' current values.
  T loss() {
    at_point();
    return loss_;
  }
  /// The gradient at the parameters' current values, one matrix per parameter.
  const std::vector<Matrix<T>>& gradient() {
    at_point();
    return grad_;
  }
  /// The parameters the products are with respect to, in the order of v and of the results.
  const std::vector<Parameter<T>*>& parameters() const { return params_; }
  /// The tape the loss is recorded on.
  Tape<T>& tape() { return *tape_; }
  /// The loss node.
  Var<T> loss_var() const { return loss_var_; }

 private:
  void init();
  void at_point();       // loss and gradient at the current values, unless they are known
  bool point_changed();  // compares every parameter with its snapshot, marking those that moved
  void check_rules() const;

  std::unique_ptr<Tape<T>> own_;
  Tape<T>* tape_;
  Var<T> loss_var_;
  std::vector<Parameter<T>*> params_;
  std::vector<Matrix<T>> snapshot_;  // the parameters' values at the point of grad_
  std::vector<Matrix<T>> grad_, hv_;
  std::vector<Matrix<T>> tv_, tg_;       // tangents of the values and of the gradients, by node index
  std::vector<detail::Node<T>*> order_;  // the backward sweep's nodes, in the order it ran them
  std::vector<std::int32_t> slot_;       // per node: the index in params_ of its parameter, or -1
  std::vector<std::uint8_t> ready_;      // per node: its tangent is set in this pass
  std::vector<std::uint8_t> moved_;      // per parameter: its value differs from its snapshot
  std::vector<std::uint8_t> gathered_;   // per parameter: scratch of gather_by_slot
  std::vector<std::uint8_t> zeroed_;     // per node: a leaf's zero tangent is in tv_ (until re-recorded)
  T loss_ = T(0);
  std::uint64_t epoch_ = 0;  // the tape's epoch_, size and plan generation when grad_ was computed
  std::size_t size_ = 0;
  std::uint64_t gen_ = 0;
  bool valid_ = false;
};

/// What hvp() returns: the loss, its gradient and H v (one matrix per parameter).
template <class T>
struct HvpResult {
  T loss = T(0);                    ///< the loss at the parameters' values
  std::vector<Matrix<T>> gradient;  ///< d(loss)/d(parameter k)
  std::vector<Matrix<T>> hv;        ///< H v for parameter k (the Hessian of all parameters times v)
};

/// The Hessian of f's scalar loss with respect to `params` times the direction v (one matrix per parameter),
/// exact (no finite differences), like torch.autograd.functional.hvp(func, inputs, v). f(tape) records the
/// loss on the Tape<T>& it is given and returns its Var<T>. Throws std::logic_error naming an op that has no
/// second-order rule. For many products, make an HvpTape once.
template <class T, class F>
HvpResult<T> hvp(F&& f, const std::vector<Parameter<T>*>& params, const std::vector<Matrix<T>>& v) {
  HvpTape<T> h(std::forward<F>(f), params);
  HvpResult<T> r;
  r.hv = h.hvp(v);
  r.loss = h.loss();
  r.gradient = h.gradient();
  return r;
}

/// The dense Hessian of f's scalar loss with respect to every entry of `params`: entries numbered
/// column-major within a parameter, parameters in order (n = the total entry count, H n×n), built from n HVPs
/// on one recorded tape. For small problems (n HVPs cost about 2n gradients).
template <class T, class F>
Matrix<T> hessian(F&& f, const std::vector<Parameter<T>*>& params) {
  HvpTape<T> h(std::forward<F>(f), params);
  std::vector<Matrix<T>> v;
  Index n = 0;
  for (const auto* p : params) {
    v.push_back(Matrix<T>::Zero(p->rows(), p->cols()));
    n += p->rows() * p->cols();
  }
  Matrix<T> hess(n, n);
  Index col = 0;
  for (auto& vk : v) {
    for (Index e = 0; e < vk.size(); ++e, ++col) {
      vk.data()[e] = T(1);
      const auto& hv = h.hvp(v);
      Index row = 0;
      for (const auto& x : hv) {
        hess.col(col).segment(row, x.size()) = x.reshaped();
        row += x.size();
      }
      vk.data()[e] = T(0);
    }
  }
  return hess;
}

/// \cond
extern template class HvpTape<float>;
extern template class HvpTape<double>;
/// \endcond

}  // namespace tapegrad
