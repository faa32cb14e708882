// Graphviz DOT output of a tape (see graphviz.hpp for the picture's legend).
#include "tapegrad/autodiff/graphviz.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <ostream>
#include <sstream>
#include <vector>

namespace tapegrad {
namespace {

/// A DOT double-quoted string's content: quotes and backslashes escaped, newlines as \n.
std::string escape(const std::string& s) {
  std::string r;
  r.reserve(s.size());
  for (char c : s) {
    if (c == '"' || c == '\\') {
      r += '\\';
      r += c;
    } else if (c == '\n') {
      r += "\\n";
    } else {
      r += c;
    }
  }
  return r;
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string duration(double ns) {
  char buf[32];
  if (ns < 1e3)
    std::snprintf(buf, sizeof buf, "%.0fns", ns);
  else if (ns < 1e6)
    std::snprintf(buf, sizeof buf, "%.3gus", ns / 1e3);
  else if (ns < 1e9)
    std::snprintf(buf, sizeof buf, "%.3gms", ns / 1e6);
  else
    std::snprintf(buf, sizeof buf, "%.3gs", ns / 1e9);
  return buf;
}

std::string percent(double share) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100 * share);
  return buf;
}

template <class T>
void write_graph(const Tape<T>& tape, std::ostream& out, const std::vector<bool>& drawn,
                 std::optional<std::uint32_t> root, const DotOptions& options) {
  out << "digraph tape {\n";
  out << "  graph [rankdir=TB, fontname=\"Helvetica\", fontsize=12";
  if (!options.title.empty()) out << ", label=\"" << escape(options.title) << "\", labelloc=t";
  out << "];\n";
  out << "  node [fontname=\"Helvetica\", fontsize=11, style=filled];\n";
  out << "  edge [fontname=\"Helvetica\", fontsize=9, arrowsize=0.7];\n";

  const auto n = static_cast<std::uint32_t>(tape.size());
  double max_time = 0, total_time = 0;
  for (std::uint32_t i = 0; i < n && i < options.node_times.size(); ++i) {
    if (!drawn[i]) continue;
    max_time = std::max(max_time, options.node_times[i]);
    total_time += options.node_times[i];
  }
  for (std::uint32_t i = 0; i < n; ++i) {
    if (!drawn[i]) continue;
    const Index rows = tape.rows_of(i), cols = tape.cols_of(i);
    const bool grad = tape.needs_grad(i);
    const bool param = tape.is_parameter(i);
    const bool leaf = tape.inputs_of(i).empty();

    const char* replaced = options.as_run ? tape.replaced_pattern(i) : nullptr;
    // Appended piece by piece: GCC 12 -O2 gives a false -Wrestrict error on `"literal" + std::string`.
    std::string label;
    if (leaf) {  // a named parameter or constant: "U: parameter"
      const std::string& name = param ? tape.parameter_name(i) : tape.constant_name(i);
      if (!name.empty()) {
        label += name;
        label += ": ";
      }
    }
    label += options.as_run ? tape.run_op_name(i) : tape.op_name(i);
    if (grad) label += " \xE2\x88\x87";  // ∇
    if (options.indices) {
      label += " #";
      label += std::to_string(i);
    }
    label += '\n';
    if (replaced) {
      label += "= ";
      label += replaced;
      label += '\n';
    }
    label += shape_string(rows, cols);
    if (options.scalar_values && rows * cols == 1 && tape.is_computed(i)) {
      label += " = ";
      label += number(static_cast<double>(tape.stored_value(i)(0, 0)));
    }

    const bool timed = !leaf && max_time > 0 && i < options.node_times.size();
    if (timed) {
      const double t = options.node_times[i];
      label += '\n';
      label += duration(t);
      label += ' ';
      label += percent(t / total_time);
    }

    std::string attrs;
    if (timed) {  // white (no time) to red (the most time)
      const int shade = 255 - static_cast<int>(std::lround(205.0 * options.node_times[i] / max_time));
      char color[16];
      std::snprintf(color, sizeof color, "#ff%02x%02x", shade, shade);
      attrs = std::string("shape=ellipse, fillcolor=\"") + color + "\"";
    } else if (param) {
      attrs = "shape=box, fillcolor=\"#9ecae1\"";
    } else if (leaf) {
      attrs = "shape=box, style=\"filled,dashed\", fillcolor=\"#eeeeee\", color=\"#777777\"";
    } else if (grad) {
      attrs = "shape=ellipse, fillcolor=\"#fdd0a2\"";
    } else {
      attrs = "shape=ellipse, fillcolor=\"#ffffff\"";
    }
    if (grad) attrs += ", penwidth=2";
    if (replaced) attrs += ", color=\"#238b45\", fontcolor=\"#00441b\"";
    if (root && *root == i) attrs += ", peripheries=2";
    out << "  n" << i << " [label=\"" << escape(label) << "\", " << attrs << "];\n";
  }

  for (std::uint32_t i = 0; i < n; ++i) {
    if (!drawn[i]) continue;
    const auto inputs = options.as_run ? tape.run_inputs_of(i) : tape.inputs_of(i);
    for (std::size_t k = 0; k < inputs.size(); ++k) {
      // A gradient flows back along this edge when both ends need one.
      const bool carries = tape.needs_grad(i) && tape.needs_grad(inputs[k]);
      out << "  n" << inputs[k] << " -> n" << i;
      const bool numbered = inputs.size() > 1;
      if (numbered || !carries) {
        out << " [";
        if (numbered) out << "label=\"" << k << "\"" << (carries ? "" : ", ");
        if (!carries) out << "style=dotted, color=\"#777777\"";
        out << "]";
      }
      out << ";\n";
    }
  }
  out << "}\n";
}

}  // namespace

template <class T>
void write_dot(const Tape<T>& tape, std::ostream& out, const DotOptions& options) {
  std::vector<bool> drawn(tape.size(), true);
  if (options.as_run) {
    for (std::uint32_t i = 0; i < tape.size(); ++i) drawn[i] = tape.runs(i);
  }
  write_graph(tape, out, drawn, std::nullopt, options);
}

template <class T>
void write_dot(const Tape<T>& tape, std::ostream& out, Var<T> root, const DotOptions& options) {
  tape.check(root, "write_dot");
  // Creation order is topological: one reverse pass from the root marks every ancestor.
  std::vector<bool> drawn(tape.size(), false);
  drawn[root.index()] = true;
  for (std::uint32_t i = root.index() + 1; i-- > 0;) {
    if (!drawn[i]) continue;
    for (std::uint32_t in : options.as_run ? tape.run_inputs_of(i) : tape.inputs_of(i)) drawn[in] = true;
  }
  write_graph(tape, out, drawn, root.index(), options);
}

template <class T>
std::string to_dot(const Tape<T>& tape, Var<T> root, const DotOptions& options) {
  std::ostringstream s;
  write_dot(tape, s, root, options);
  return s.str();
}

template void write_dot<float>(const Tape<float>&, std::ostream&, const DotOptions&);
template void write_dot<double>(const Tape<double>&, std::ostream&, const DotOptions&);
template void write_dot<float>(const Tape<float>&, std::ostream&, Var<float>, const DotOptions&);
template void write_dot<double>(const Tape<double>&, std::ostream&, Var<double>, const DotOptions&);
template std::string to_dot<float>(const Tape<float>&, Var<float>, const DotOptions&);
template std::string to_dot<double>(const Tape<double>&, Var<double>, const DotOptions&);

}  // namespace tapegrad
