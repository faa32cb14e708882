// The optimizer interface: a list of parameter groups, each with its own options, updated from the
// parameters' gradients. An optimizer never sees the tape: it reads Parameter::grad and writes
// Parameter::value, exactly like torch.optim reads .grad and writes .data.
#pragma once

#include <cstddef>
#include <functional>
#include <iosfwd>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "tapegrad/autodiff/tape.hpp"

/// Optimizers over parameters and their gradients, with PyTorch 1.13's equations; learning-rate schedules,
/// gradient clipping and checkpoints (docs/optimizers.md).
namespace tapegrad::optim {

/// A saved optimizer state or checkpoint could not be restored: it is truncated, corrupted, of another
/// optimizer or scalar type, or does not fit the optimizer's parameter groups. The message says which.
class StateError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
class StateWriter;
class StateReader;
}  // namespace detail

/// Base class of the optimizers. Parameters are grouped (PyTorch's param_groups); every group has its
/// own learning rate and options. The optimizer keeps pointers: the parameters must outlive it.
template <class T>
class Optimizer {
 public:
  virtual ~Optimizer();
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  /// One update of every parameter from its current gradient.
  virtual void step() = 0;
  /// Sets every parameter's gradient to zero (keeps the buffer: no allocation).
  void zero_grad();

  /// The number of parameter groups.
  std::size_t num_groups() const { return groups_.size(); }
  /// The learning rate of a group (the one the next step() uses).
  double lr(std::size_t group = 0) const;
  /// Sets the learning rate of every group. Throws std::invalid_argument for a negative or NaN lr.
  void set_lr(double lr);
  /// Sets the learning rate of one group.
  void set_lr(std::size_t group, double lr);
  /// Every parameter of every group, in group order, then in the order given.
  std::vector<Parameter<T>*> parameters() const;
  /// The parameters of one group.
  const std::vector<Parameter<T>*>& group_parameters(std::size_t group) const;

  /// Forgets the per-parameter state (momentum buffers, moments, step counts); options and lrs stay.
  virtual void reset_state();
  /// Writes the options of every group and the per-parameter state, exactly (raw IEEE bytes).
  virtual void save_state(std::ostream& out) const;
  /// Restores what save_state wrote. The stream must come from the same optimizer type, scalar type,
  /// group structure and parameter shapes; otherwise StateError says what differs and nothing changes.
  virtual void load_state(std::istream& in);

  /// "sgd", "adam" or "adamw": identifies saved states.
  virtual const char* name() const = 0;

 protected:
  Optimizer() = default;

  /// A parameter group: its parameters and learning rate (the derived class keeps the other options).
  struct Group {
    std::vector<Parameter<T>*> params;  ///< the group's parameters, in the order given
    double lr = 0;                      ///< the group's learning rate
    std::size_t first = 0;              ///< index of params[0] in the flat per-parameter state
  };

  /// Validates and appends a group (non-empty, no null, no parameter already in a group, lr >= 0).
  void add_group(std::vector<Parameter<T>*> params, double lr);
  /// Throws std::invalid_argument unless the parameter's gradient has its value's shape.
  void check_grad(const Parameter<T>& p, std::size_t group, std::size_t index) const;

  // Serialization hooks of the derived class: its group options, then its per-parameter state.
  // load_body parses everything into temporaries (throwing StateError on any problem) and returns
  // the function that commits them, so that a failed load leaves the optimizer as it was.
  /// Writes the derived class's group options and per-parameter state.
  virtual void save_body(detail::StateWriter& w) const = 0;
  /// Parses what save_body wrote; returns the function that commits it.
  virtual std::function<void()> load_body(detail::StateReader& r) = 0;

  std::vector<Group> groups_;   ///< the parameter groups, in the order added
  std::size_t num_params_ = 0;  ///< the number of parameters over all groups
};

/// Throws std::invalid_argument (PyTorch's message) unless lr is a number >= 0.
void check_lr(double lr);

namespace detail {
/// What the optimizers with options per group (Sgd, Adam/AdamW) share: each group's Options, validated by
/// validate(Options) when the group is added. A group's current lr lives in the group (Optimizer::Group).
template <class T, class Options>
class OptionsPerGroup : public Optimizer<T> {
 protected:
  /// Validates `o` (std::invalid_argument) and appends a group of `params` with it.
  void add_with_options(std::vector<Parameter<T>*> params, const Options& o) {
    validate(o);
    this->add_group(std::move(params), o.lr);
    options_.push_back(o);
  }
  /// The options of a group, with its current lr.
  Options group_options(std::size_t group) const {
    Options o = options_.at(group);
    o.lr = this->groups_[group].lr;
    return o;
  }
  /// Makes `loaded` (one per group, as serialize.hpp's read_options reads them) the groups' options; each
  /// keeps the lr it was given.
  void replace_options(std::vector<Options> loaded) {
    for (std::size_t gi = 0; gi < loaded.size(); ++gi) loaded[gi].lr = options_[gi].lr;
    options_ = std::move(loaded);
  }

  std::vector<Options> options_;  ///< each group's options, in group order
};
}  // namespace detail

/// \cond
extern template class Optimizer<float>;
extern template class Optimizer<double>;
/// \endcond

}  // namespace tapegrad::optim
