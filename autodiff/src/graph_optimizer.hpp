// The graph optimizer: rewrites a recorded graph into fused kernels before it runs (docs/graph-optimizer.md).
#pragma once

#include <cstddef>

#include "tapegrad/autodiff/tape.hpp"

namespace tapegrad::detail {

/// Plans nodes[0, n): sets every node's run step (its recorded step, or a fused kernel computing the same
/// value from other nodes), `replaced`, `bypassed` (a use of the node was rewritten to read around it) and
/// `live` (false: no use is left and nobody reads it, so it is not computed). Never rewrites around a node
/// the user observed. Returns the number of nodes rewritten.
template <class T>
std::size_t rewrite_graph(Node<T>* const* nodes, std::size_t n);

}  // namespace tapegrad::detail
