// Checkpoints: an optimizer's state and its parameters' values in one file, so that a run resumes
// exactly (N steps + save + load + N steps gives the same bits as 2N steps).
#pragma once

#include <string>

#include "tapegrad/optim/optimizer.hpp"

namespace tapegrad::optim {

/// Writes the values of opt.parameters() and opt.save_state() to `path`, atomically: into
/// "<path>.tmp" first, flushed, then renamed over `path`. Throws StateError naming the file on failure.
template <class T>
void save_checkpoint(const std::string& path, const Optimizer<T>& opt);

/// Restores a checkpoint into `opt` and its parameters. The file is checked whole first (magic,
/// version, scalar type, checksum, parameter count and shapes, optimizer state); on any problem
/// StateError names the file and the problem, and neither the optimizer nor the parameters change.
template <class T>
void load_checkpoint(const std::string& path, Optimizer<T>& opt);

/// \cond
extern template void save_checkpoint<float>(const std::string&, const Optimizer<float>&);
extern template void save_checkpoint<double>(const std::string&, const Optimizer<double>&);
extern template void load_checkpoint<float>(const std::string&, Optimizer<float>&);
extern template void load_checkpoint<double>(const std::string&, Optimizer<double>&);
/// \endcond

}  // namespace tapegrad::optim
