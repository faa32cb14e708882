// Graph pictures: a tape written as Graphviz DOT, for `dot -Tsvg graph.dot -o graph.svg`.
//
// One DOT node per tape node, labelled with its op name, its shape and its index on the tape; one edge
// per input, from the input to the op that reads it (so the picture reads top-down in recording order,
// and backward() walks it bottom-up). Node kinds are told apart by shape and colour:
//
//   parameter              blue box           a leaf whose gradient accumulates into a Parameter
//   constant               grey dashed box    a leaf with no gradient (data, targets, identities)
//   op needing a gradient  orange ellipse     on a path from a parameter: backward() does work here
//   op without a gradient  white ellipse      depends on constants only: backward() skips it
//
// Nodes that need a gradient also get a bold outline and a "∇" after their name; the edges that carry
// a gradient back are solid, the others dotted. When an op has several inputs, each edge is labelled
// with the input's position (matmul(A, B): 0 is A, 1 is B). The root, if given, gets a double outline.
//
// Named parameters and constants show their name first ("U: parameter ∇ #0").
//
// With `DotOptions::node_times` (a Profiler's node_ns()), op nodes are coloured by time instead: white for
// none, to red for the slowest, labelled with their time and share.
//
// By default the picture is the graph as recorded: the formula as the user wrote it. With
// `DotOptions::as_run` it is what runs after the graph optimizer's rewrites (docs/graph-optimizer.md):
// nodes the plan leaves out are not drawn, a fused node is labelled with the kernel that runs and, on a
// line of its own, the pattern it replaced ("matmul_nt" / "= matmul(A, transpose(B))"), with a green
// outline, and its edges come from the inputs it reads.
//
// Only the tape's public inspection API is used (size, op_name, rows_of, needs_grad, is_parameter,
// inputs_of, and the plan's runs, run_op_name, replaced_pattern, run_inputs_of).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "tapegrad/autodiff/tape.hpp"

namespace tapegrad {

/// How write_dot draws a tape.
struct DotOptions {
  /// A title drawn above the graph (none when empty).
  std::string title;
  /// Show the value of 1x1 nodes (losses, scalars) in their labels, e.g. "mse ∇ #7\n1x1 = 0.0123".
  bool scalar_values = true;
  /// Show each node's index on the tape ("#7") in its label.
  bool indices = true;
  /// Draw what runs after the graph optimizer's rewrites instead of the graph as recorded.
  bool as_run = false;
  /// Colour by time: each node's time in ns, indexed by node (Profiler::node_ns(); best with as_run). When
  /// given, every op node with a time is filled from white (no time) to red (the most), and its label gets
  /// its time and share of the total ("1.23ms 45.6%").
  std::vector<double> node_times = {};
};

/// Writes every node of `tape` as a Graphviz DOT digraph to `out`.
template <class T>
void write_dot(const Tape<T>& tape, std::ostream& out, const DotOptions& options = {});

/// Writes only `root` and the nodes it depends on (its ancestors on the tape), with `root` drawn with a
/// double outline. Throws TapeError if `root` is not a live node of `tape` (stale or foreign handle).
template <class T>
void write_dot(const Tape<T>& tape, std::ostream& out, Var<T> root, const DotOptions& options = {});

/// The DOT text of write_dot(tape, out, root, options), as a string.
template <class T>
std::string to_dot(const Tape<T>& tape, Var<T> root, const DotOptions& options = {});

/// \cond
extern template void write_dot<float>(const Tape<float>&, std::ostream&, const DotOptions&);
extern template void write_dot<double>(const Tape<double>&, std::ostream&, const DotOptions&);
extern template void write_dot<float>(const Tape<float>&, std::ostream&, Var<float>, const DotOptions&);
extern template void write_dot<double>(const Tape<double>&, std::ostream&, Var<double>, const DotOptions&);
extern template std::string to_dot<float>(const Tape<float>&, Var<float>, const DotOptions&);
extern template std::string to_dot<double>(const Tape<double>&, Var<double>, const DotOptions&);
/// \endcond

}  // namespace tapegrad
