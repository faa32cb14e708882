// The profiler (tapegrad/autodiff/profiler.hpp), and the tape's hooked forward and backward runs: the path
// an op takes when anomaly detection or profiling is on. Off, Tape::run_forward / run_backward test one flag
// per op (the same test anomaly detection always took) and never come here.
#include "tapegrad/autodiff/profiler.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <stdexcept>
#include <tuple>

namespace tapegrad {

namespace {

template <class T>
ProfileEvent event_of(const detail::Node<T>& n, const detail::Step<T>& s, ProfilePhase phase) {
  ProfileEvent e;
  e.op = s.op;
  e.replaced = &s == &n.run ? n.replaced : nullptr;
  e.node = n.self;
  e.phase = phase;
  auto& sh = e.shapes;
  sh.rows = n.rows;
  sh.cols = n.cols;
  sh.n_in = s.n_in;
  sh.attr = s.attr;
  sh.scalar = static_cast<double>(s.scalar);
  for (std::uint8_t k = 0; k < s.n_in; ++k) {
    sh.in_rows[k] = s.inp[k]->rows;
    sh.in_cols[k] = s.inp[k]->cols;
    sh.needs_grad[k] = s.inp[k]->needs_grad;
  }
  if (s.cost) {
    const OpCost c = s.cost(sh, phase == ProfilePhase::backward);
    e.cost_known = true;
    e.flops = c.flops;
    e.bytes = c.elements * static_cast<double>(sizeof(T));
  }
  return e;
}

// Runs step_fn (s's forward or backward) on ctx; with a profiler, timed as one event of that phase.
template <class T>
void run_timed(Profiler* profiler, void (*step_fn)(OpContext<T>&), OpContext<T>& ctx,
               const detail::Node<T>& n, const detail::Step<T>& s, ProfilePhase phase) {
  if (!profiler) {
    step_fn(ctx);
    return;
  }
  const std::int64_t t0 = profiler->now();
  step_fn(ctx);
  const std::int64_t t1 = profiler->now();
  ProfileEvent e = event_of(n, s, phase);
  e.start_ns = t0;
  e.duration_ns = t1 - t0;
  profiler->add(e);
}

}  // namespace

template <class T>
void Tape<T>::run_forward_hooked(detail::Node<T>* n, const detail::Step<T>& s) {
  n->value.resize(n->rows, n->cols);  // a no-op when the shape is right
  OpContext<T> ctx(n, &s);
  run_timed(profiler_, s.forward, ctx, *n, s, ProfilePhase::forward);
  n->computed = true;
  if (anomaly_) check_finite(*n, n->value, "forward");
}

template <class T>
void Tape<T>::run_backward_hooked(detail::Node<T>* n, const detail::Step<T>& s) {
  OpContext<T> ctx(n, &s);
  run_timed(profiler_, s.backward, ctx, *n, s, ProfilePhase::backward);
  if (anomaly_) {
    for (std::uint8_t k = 0; k < s.n_in; ++k) {
      if (s.inp[k]->needs_grad) check_finite(*n, *s.inp[k]->grd, "backward");
    }
  }
}

template void Tape<float>::run_forward_hooked(detail::Node<float>*, const detail::Step<float>&);
template void Tape<double>::run_forward_hooked(detail::Node<double>*, const detail::Step<double>&);
template void Tape<float>::run_backward_hooked(detail::Node<float>*, const detail::Step<float>&);
template void Tape<double>::run_backward_hooked(detail::Node<double>*, const detail::Step<double>&);

// ---------------------------------------------------------------------------------------------

Profiler::Profiler() : origin_(std::chrono::steady_clock::now()) {}

void Profiler::clear() {
  events_.clear();
  steps_.clear();
  current_step_ = 0;
  in_step_ = false;
  origin_ = std::chrono::steady_clock::now();
}

void Profiler::reserve(std::size_t events) {
  if (events <= events_.capacity()) return;
  const std::size_t n = events_.size();
  events_.resize(events);  // writes every entry: the pages are mapped now, not during a step
  events_.resize(n);
}

void Profiler::begin_step() {
  if (in_step_) throw std::logic_error("Profiler::begin_step: a step is already being timed");
  in_step_ = true;
  ++current_step_;
  step_start_ = now();
}

void Profiler::end_step() {
  if (!in_step_) return;
  const std::int64_t t = now();
  in_step_ = false;
  steps_.push_back({current_step_, step_start_, t - step_start_});
}

double Profiler::op_ns() const {
  double s = 0;
  for (const auto& e : events_) s += static_cast<double>(e.duration_ns);
  return s;
}

double Profiler::step_ns() const {
  double s = 0;
  for (const auto& st : steps_) s += static_cast<double>(st.duration_ns);
  return s;
}

std::vector<OpSummary> Profiler::summary() const {
  std::map<std::pair<std::string, std::string>, OpSummary> by_op;
  for (const auto& e : events_) {
    const std::string replaced = e.replaced ? e.replaced : "";
    auto& s = by_op[{e.op, replaced}];
    s.op = e.op;
    s.replaced = replaced;
    const auto ns = static_cast<double>(e.duration_ns);
    if (e.phase == ProfilePhase::forward) {
      ++s.calls_forward;
      s.ns_forward += ns;
      s.flops_forward += e.flops;
    } else {
      ++s.calls_backward;
      s.ns_backward += ns;
      s.flops_backward += e.flops;
    }
    s.bytes += e.bytes;
    s.cost_known = s.cost_known && e.cost_known;
  }
  std::vector<OpSummary> out;
  out.reserve(by_op.size());
  for (auto& [key, s] : by_op) out.push_back(std::move(s));
  std::stable_sort(out.begin(), out.end(),
                   [](const OpSummary& a, const OpSummary& b) { return a.ns() > b.ns(); });
  return out;
}

namespace {

std::string format(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

// A duration with a unit that keeps 3-4 significant digits.
std::string duration(double ns) {
  if (ns < 1e3) return format("%.0fns", ns);
  if (ns < 1e6) return format("%.2fus", ns / 1e3);
  if (ns < 1e9) return format("%.2fms", ns / 1e6);
  return format("%.3fs", ns / 1e9);
}

std::string pad(const std::string& s, std::size_t width, bool left) {
  // Width in characters as printed (UTF-8 continuation bytes take no column).
  std::size_t cols = 0;
  for (unsigned char c : s) cols += (c & 0xC0) != 0x80;
  if (cols >= width) return s;
  return left ? s + std::string(width - cols, ' ') : std::string(width - cols, ' ') + s;
}

}  // namespace

std::string Profiler::table(std::size_t max_rows) const {
  const auto ops = summary();
  const double total_ops = op_ns();
  const double total_steps = step_ns();
  const double denom = total_steps > 0 ? total_steps : total_ops;
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"op", "calls fwd", "calls bwd", "fwd total", "fwd mean", "bwd total", "bwd mean", "total",
                  total_steps > 0 ? "% of step" : "% of ops", "GFLOP/s", "GB/s"});
  std::size_t n = 0;
  for (const auto& s : ops) {
    if (max_rows && n++ == max_rows) break;
    std::string name = s.op;
    if (!s.replaced.empty()) name += " = " + s.replaced;
    const double ns = s.ns();
    auto mean = [](double t, std::size_t calls) {
      return calls ? duration(t / double(calls)) : std::string("-");
    };
    rows.push_back({name, std::to_string(s.calls_forward), std::to_string(s.calls_backward),
                    s.calls_forward ? duration(s.ns_forward) : "-", mean(s.ns_forward, s.calls_forward),
                    s.calls_backward ? duration(s.ns_backward) : "-", mean(s.ns_backward, s.calls_backward),
                    duration(ns), denom > 0 ? format("%.1f%%", 100.0 * ns / denom) : "-",
                    s.cost_known && ns > 0 ? format("%.2f", s.flops() / ns) : "?",
                    s.cost_known && ns > 0 ? format("%.2f", s.bytes / ns) : "?"});
  }
  std::vector<std::size_t> width(rows[0].size(), 0);
  for (const auto& r : rows) {
    for (std::size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], pad(r[c], 0, true).size());
  }
  // (pad(.., 0) returns the string: its byte size bounds its column count)
  std::string out;
  auto line = [&] {
    std::size_t w = 0;
    for (auto x : width) w += x + 2;
    out += std::string(w, '-') + "\n";
  };
  for (std::size_t r = 0; r < rows.size(); ++r) {
    if (r <= 1) line();
    for (std::size_t c = 0; c < rows[r].size(); ++c) out += pad(rows[r][c], width[c] + 2, c == 0);
    out += "\n";
  }
  line();
  out += "ops total: " + duration(total_ops) + " in " + std::to_string(events_.size()) + " op runs";
  if (total_steps > 0) {
    out += "; " + std::to_string(steps_.size()) + " step" + (steps_.size() == 1 ? "" : "s") +
           " timed: " + duration(total_steps) + " (ops " + format("%.1f%%", 100.0 * total_ops / total_steps) +
           " of it)";
  }
  out += "\n";
  return out;
}

std::string Profiler::chrome_trace() const {
  using nlohmann::json;
  json events = json::array();
  events.push_back(
      {{"name", "process_name"}, {"ph", "M"}, {"pid", 1}, {"tid", 0}, {"args", {{"name", "tapegrad"}}}});
  events.push_back(
      {{"name", "thread_name"}, {"ph", "M"}, {"pid", 1}, {"tid", 1}, {"args", {{"name", "ops"}}}});
  events.push_back(
      {{"name", "thread_name"}, {"ph", "M"}, {"pid", 1}, {"tid", 2}, {"args", {{"name", "steps"}}}});
  for (const auto& st : steps_) {
    events.push_back({{"name", "step " + std::to_string(st.id)},
                      {"cat", "step"},
                      {"ph", "X"},
                      {"ts", static_cast<double>(st.start_ns) / 1e3},
                      {"dur", static_cast<double>(st.duration_ns) / 1e3},
                      {"pid", 1},
                      {"tid", 2}});
  }
  for (const auto& e : events_) {
    json args = {{"node", e.node}, {"output", shape_string(e.shapes.rows, e.shapes.cols)}};
    json inputs = json::array();
    for (std::uint8_t k = 0; k < e.shapes.n_in; ++k)
      inputs.push_back(shape_string(e.shapes.in_rows[k], e.shapes.in_cols[k]));
    args["inputs"] = inputs;
    if (e.replaced) args["replaced"] = e.replaced;
    if (e.cost_known) {
      args["flops"] = e.flops;
      args["bytes"] = e.bytes;
    }
    if (e.step) args["step"] = e.step;
    events.push_back({{"name", e.op},
                      {"cat", e.phase == ProfilePhase::forward ? "forward" : "backward"},
                      {"ph", "X"},
                      {"ts", static_cast<double>(e.start_ns) / 1e3},
                      {"dur", static_cast<double>(e.duration_ns) / 1e3},
                      {"pid", 1},
                      {"tid", 1},
                      {"args", std::move(args)}});
  }
  return json{{"traceEvents", std::move(events)}, {"displayTimeUnit", "ns"}}.dump();
}

void Profiler::write_chrome_trace(const std::string& path) const {
  std::ofstream out(path);
  if (!out) throw std::runtime_error("Profiler::write_chrome_trace: cannot open '" + path + "' for writing");
  out << chrome_trace() << "\n";
  out.close();
  if (!out) throw std::runtime_error("Profiler::write_chrome_trace: could not write '" + path + "'");
}

std::vector<double> Profiler::node_ns() const {
  std::vector<double> t;
  for (const auto& e : events_) {
    if (e.node >= t.size()) t.resize(e.node + 1, 0.0);
    t[e.node] += static_cast<double>(e.duration_ns);
  }
  return t;
}

}  // namespace tapegrad
