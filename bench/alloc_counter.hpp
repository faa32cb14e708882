// Counts heap allocations in a benchmark binary (the global operator new is replaced in alloc_counter.cpp).
#pragma once

#include <cstdint>

namespace tapegrad::bench {
/// Number of calls to operator new since the program started.
std::uint64_t allocations();
}  // namespace tapegrad::bench
