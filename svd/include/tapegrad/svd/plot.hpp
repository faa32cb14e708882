// The convergence plot: the loss against the iteration on a log scale, as a self-contained SVG file.
#pragma once

#include <string>
#include <vector>

namespace tapegrad::svd {

/// SVG text of the loss history (loss_history[i] is the loss at iteration i): a line on a log-scale y axis
/// with a tick and a label at each power of ten, x ticks, the title and axis labels, styled like a plotly
/// figure. Zero, negative and non-finite values cannot be shown on a log scale and are skipped (the line
/// breaks there); a single point is drawn as a marker; an empty or entirely unplottable history gives empty
/// axes with a note. Axis titles are "Iterations" and "Losses" (the seed notebooks' figure); trace_name, if
/// given, is shown in a legend.
std::string convergence_svg(const std::vector<double>& loss_history, const std::string& title,
                            const std::string& trace_name = {});

/// Writes convergence_svg(loss_history, title) to path atomically (see io::write_file_atomic). Throws
/// io::IoError.
void write_convergence_svg(const std::string& path, const std::vector<double>& loss_history,
                           const std::string& title, const std::string& trace_name = {});

}  // namespace tapegrad::svd
