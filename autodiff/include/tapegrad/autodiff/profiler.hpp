// A per-op profiler for the tape: where a forward and a backward pass spend their time.
//
//   Profiler prof;
//   tape.set_profiler(&prof);
//   for (int i = 0; i < 10; ++i) {
//     auto step = prof.step();  // times the whole step; the table gives each op's share of it
//     tape.forward();
//     tape.backward(loss);
//   }
//   std::cout << prof.table();              // per op, like torch.profiler's key_averages().table()
//   prof.write_chrome_trace("trace.json");  // a timeline for chrome://tracing or ui.perfetto.dev
//
// Every op a profiled tape runs, forward or backward, is one event: the op that ran (after the graph
// optimizer's rewrites: a fused node says which pattern it replaced), the shapes, its wall time
// (std::chrono::steady_clock) and its FLOPs and bytes touched, from the cost the op declares beside its
// derivative (OpDef::cost; the counting convention is in docs/profiling.md). What lies between ops (the
// sweep's bookkeeping, zeroing gradient buffers, recording) belongs to no op: the step's wall time shows it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tapegrad/autodiff/tape.hpp"

namespace tapegrad {

/// Which pass an event belongs to.
enum class ProfilePhase : std::uint8_t {
  forward,  ///< the op computed its value
  backward  ///< the op passed gradients to its inputs
};

/// One run of one op.
struct ProfileEvent {
  const char* op = "";             ///< the op that ran (after the rewrites: "matmul_nt", "mse", ...)
  const char* replaced = nullptr;  ///< for a fused node, the pattern it replaced ("mean(square(a - b))")
  std::uint32_t node = 0;          ///< the node's index on the tape
  ProfilePhase phase = ProfilePhase::forward;  ///< forward or backward
  std::uint32_t step = 0;        ///< the step (Profiler::step()) it ran in: 1, 2, ...; 0 outside any
  OpShapes shapes;               ///< output and input shapes
  std::int64_t start_ns = 0;     ///< since the profiler's origin (made, or last clear())
  std::int64_t duration_ns = 0;  ///< wall time of the op's forward or backward function
  bool cost_known = false;       ///< false: the op declares no cost (flops and bytes are 0)
  double flops = 0;              ///< floating-point operations (OpDef::cost)
  double bytes = 0;              ///< matrix entries read and written, times the entry size
};

/// One step's wall time (Profiler::step()).
struct ProfileStep {
  std::uint32_t id = 0;          ///< 1, 2, ... in the order the steps began
  std::int64_t start_ns = 0;     ///< since the profiler's origin
  std::int64_t duration_ns = 0;  ///< wall time from begin_step() to end_step()
};

/// The events of one op (one name, and one replaced pattern for fused nodes), summed.
struct OpSummary {
  std::string op;                  ///< the op's name
  std::string replaced;            ///< the pattern a fused op replaced (empty if none)
  std::size_t calls_forward = 0;   ///< forward runs
  std::size_t calls_backward = 0;  ///< backward runs
  double ns_forward = 0;           ///< total forward time
  double ns_backward = 0;          ///< total backward time
  double flops_forward = 0;        ///< total forward FLOPs
  double flops_backward = 0;       ///< total backward FLOPs
  double bytes = 0;                ///< total bytes touched, both passes
  bool cost_known = true;          ///< every event of the op had a declared cost
  /// Total time, forward and backward.
  double ns() const { return ns_forward + ns_backward; }
  /// Total FLOPs, forward and backward.
  double flops() const { return flops_forward + flops_backward; }
};

/// Collects the events of the tapes it is attached to (Tape::set_profiler). Not thread-safe: one profiler per
/// thread, like tapes.
class Profiler {
 public:
  Profiler();

  /// Forgets every event and step, and restarts the clock.
  void clear();
  /// Reserves room for `events` events, so that recording allocates nothing until there are more (and
  /// touches it, so that no page fault lands inside a timed step).
  void reserve(std::size_t events);

  /// Times a step while it lives (begin_step() ... end_step()).
  class StepScope {
   public:
    /// Begins a step of `p`; the destructor ends it.
    explicit StepScope(Profiler& p) : p_(&p) { p.begin_step(); }
    StepScope(const StepScope&) = delete;
    StepScope& operator=(const StepScope&) = delete;
    ~StepScope() { p_->end_step(); }

   private:
    Profiler* p_;
  };
  /// A scope that times one step: `{ auto s = profiler.step(); ... }`.
  [[nodiscard]] StepScope step() { return StepScope(*this); }
  /// Starts a step: events until end_step() carry its number. Throws std::logic_error inside another step.
  void begin_step();
  /// Ends the step begun by begin_step().
  void end_step();

  /// Every event recorded, in the order the ops ran.
  const std::vector<ProfileEvent>& events() const { return events_; }
  /// Every step timed.
  const std::vector<ProfileStep>& steps() const { return steps_; }
  /// The summed wall time of all events.
  double op_ns() const;
  /// The summed wall time of all steps.
  double step_ns() const;

  /// The events grouped by op (name and replaced pattern), the most time first.
  std::vector<OpSummary> summary() const;
  /// The summary as a text table: calls, total and mean time forward and backward, share of the step time
  /// (of all ops' time when no step was timed), GFLOP/s and GB/s. `max_rows` 0: every op.
  std::string table(std::size_t max_rows = 0) const;
  /// A Chrome trace (trace-event JSON: one complete "X" event per op run, µs timestamps; steps on a track of
  /// their own), for chrome://tracing or https://ui.perfetto.dev.
  std::string chrome_trace() const;
  /// Writes chrome_trace() to a file; throws std::runtime_error if it cannot be written.
  void write_chrome_trace(const std::string& path) const;
  /// Each tape node's summed time (forward and backward) over all events, indexed by node: for
  /// DotOptions::node_times (a graph picture coloured by time).
  std::vector<double> node_ns() const;

  /// Nanoseconds since the origin (for the tape's hooks).
  std::int64_t now() const {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - origin_)
        .count();
  }
  /// Appends an event (the tape's hooks call this); it gets the current step's number.
  void add(ProfileEvent e) {
    e.step = in_step_ ? current_step_ : 0;
    events_.push_back(e);
  }

 private:
  std::chrono::steady_clock::time_point origin_;
  std::vector<ProfileEvent> events_;
  std::vector<ProfileStep> steps_;
  std::uint32_t current_step_ = 0;
  bool in_step_ = false;
  std::int64_t step_start_ = 0;
};

}  // namespace tapegrad
