// Counts heap allocations in a benchmark binary (alloc_counter.cpp replaces malloc & co. on glibc, so
// Eigen's allocations are counted too; elsewhere the global operator new).
#pragma once

#include <cstdint>

namespace tapegrad::bench {
/// Number of heap allocations since the program started.
std::uint64_t allocations();
}  // namespace tapegrad::bench
