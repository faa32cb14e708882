#include "tapegrad/optim/optimizer.hpp"

#include <cmath>
#include <istream>
#include <ostream>
#include <unordered_set>

#include "serialize.hpp"

namespace tapegrad::optim {

namespace {
constexpr char kStateMagic[8] = {'T', 'G', 'O', 'P', 'T', 'S', 'T', '1'};
constexpr std::uint64_t kStateVersion = 1;

std::string param_label(const std::string& name, std::size_t group, std::size_t index) {
  std::string s = "parameter " + std::to_string(index) + " of group " + std::to_string(group);
  if (!name.empty()) s += " ('" + name + "')";
  return s;
}
}  // namespace

void check_lr(double lr) {
  if (!(lr >= 0.0)) throw std::invalid_argument("Invalid learning rate: " + std::to_string(lr));
}

template <class T>
Optimizer<T>::~Optimizer() = default;

template <class T>
void Optimizer<T>::zero_grad() {
  for (auto& g : groups_)
    for (auto* p : g.params) p->grad.setZero(p->value.rows(), p->value.cols());
}

template <class T>
double Optimizer<T>::lr(std::size_t group) const {
  if (group >= groups_.size())
    throw std::out_of_range("tapegrad: lr: group " + std::to_string(group) + " of " +
                            std::to_string(groups_.size()));
  return groups_[group].lr;
}

template <class T>
void Optimizer<T>::set_lr(double lr) {
  check_lr(lr);
  for (auto& g : groups_) g.lr = lr;
}

template <class T>
void Optimizer<T>::set_lr(std::size_t group, double lr) {
  if (group >= groups_.size())
    throw std::out_of_range("tapegrad: set_lr: group " + std::to_string(group) + " of " +
                            std::to_string(groups_.size()));
  check_lr(lr);
  groups_[group].lr = lr;
}

template <class T>
std::vector<Parameter<T>*> Optimizer<T>::parameters() const {
  std::vector<Parameter<T>*> all;
  all.reserve(num_params_);
  for (const auto& g : groups_) all.insert(all.end(), g.params.begin(), g.params.end());
  return all;
}

template <class T>
const std::vector<Parameter<T>*>& Optimizer<T>::group_parameters(std::size_t group) const {
  if (group >= groups_.size())
    throw std::out_of_range("tapegrad: group_parameters: group " + std::to_string(group) + " of " +
                            std::to_string(groups_.size()));
  return groups_[group].params;
}

template <class T>
void Optimizer<T>::reset_state() {}

template <class T>
void Optimizer<T>::add_group(std::vector<Parameter<T>*> params, double lr) {
  check_lr(lr);
  if (params.empty()) throw std::invalid_argument("tapegrad: optimizer got an empty parameter list");
  std::unordered_set<const Parameter<T>*> seen;
  for (const auto& g : groups_) seen.insert(g.params.begin(), g.params.end());
  std::unordered_set<const Parameter<T>*> mine;
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (!params[i])
      throw std::invalid_argument("tapegrad: optimizer got a null parameter (index " + std::to_string(i) +
                                  ")");
    if (seen.count(params[i]))
      throw std::invalid_argument("tapegrad: some parameters appear in more than one parameter group (" +
                                  param_label(params[i]->name(), groups_.size(), i) + ")");
    if (!mine.insert(params[i]).second)
      throw std::invalid_argument("tapegrad: a parameter appears twice in a parameter group (" +
                                  param_label(params[i]->name(), groups_.size(), i) + ")");
  }
  Group g;
  g.first = num_params_;
  g.lr = lr;
  num_params_ += params.size();
  g.params = std::move(params);
  groups_.push_back(std::move(g));
}

template <class T>
void Optimizer<T>::check_grad(const Parameter<T>& p, std::size_t group, std::size_t index) const {
  if (p.grad.rows() != p.value.rows() || p.grad.cols() != p.value.cols()) {
    throw std::invalid_argument("tapegrad: " + std::string(name()) +
                                ".step: " + param_label(p.name(), group, index) + " has a " +
                                shape_string(p.grad.rows(), p.grad.cols()) + " gradient for a " +
                                shape_string(p.value.rows(), p.value.cols()) + " value");
  }
}

template <class T>
void Optimizer<T>::save_state(std::ostream& out) const {
  detail::StateWriter w(out);
  out.write(kStateMagic, sizeof kStateMagic);
  w.u64(kStateVersion);
  w.u64(sizeof(T));
  w.str(name());
  w.u64(groups_.size());
  for (const auto& g : groups_) {
    w.f64(g.lr);
    w.u64(g.params.size());
    for (const auto* p : g.params) {
      w.i64(p->value.rows());
      w.i64(p->value.cols());
    }
  }
  save_body(w);
  w.check(name());
}

template <class T>
void Optimizer<T>::load_state(std::istream& in) {
  detail::StateReader r(in);
  char magic[sizeof kStateMagic];
  if (!in.read(magic, sizeof magic) || std::memcmp(magic, kStateMagic, sizeof magic) != 0)
    r.fail("not a tapegrad optimizer state (bad magic)");
  if (const auto v = r.u64("version"); v != kStateVersion)
    r.fail("unsupported version " + std::to_string(v) + " (this build reads version " +
           std::to_string(kStateVersion) + ")");
  if (const auto s = r.u64("scalar size"); s != sizeof(T))
    r.fail("saved with " +
           std::string(s == 4   ? "float"
                       : s == 8 ? "double"
                                : "an unknown scalar type") +
           " parameters, loading into an optimizer of " + (sizeof(T) == 4 ? "float" : "double"));
  if (const auto kind = r.str("optimizer name"); kind != name())
    r.fail("saved by a '" + kind + "' optimizer, loading into a '" + name() + "' optimizer");
  if (const auto ng = r.u64("group count"); ng != groups_.size())
    r.fail("saved with " + std::to_string(ng) + " parameter groups, the optimizer has " +
           std::to_string(groups_.size()));
  std::vector<double> lrs(groups_.size());
  for (std::size_t gi = 0; gi < groups_.size(); ++gi) {
    const auto& g = groups_[gi];
    lrs[gi] = r.f64("lr");
    if (!(lrs[gi] >= 0)) r.fail("corrupted lr of group " + std::to_string(gi));
    if (const auto np = r.u64("parameter count"); np != g.params.size())
      r.fail("group " + std::to_string(gi) + " has " + std::to_string(np) +
             " parameters in the saved state but " + std::to_string(g.params.size()) + " in the optimizer");
    for (std::size_t i = 0; i < g.params.size(); ++i) {
      const auto rows = r.i64("parameter rows"), cols = r.i64("parameter cols");
      const auto* p = g.params[i];
      if (rows != p->value.rows() || cols != p->value.cols())
        r.fail(param_label(p->name(), gi, i) + " is " + shape_string(rows, cols) +
               " in the saved state but " + shape_string(p->value.rows(), p->value.cols()) +
               " in the optimizer");
    }
  }
  auto commit = load_body(r);
  for (std::size_t gi = 0; gi < groups_.size(); ++gi) groups_[gi].lr = lrs[gi];
  commit();
}

template class Optimizer<float>;
template class Optimizer<double>;

}  // namespace tapegrad::optim
