// tapegrad::bench::allocations() (tapegrad/bench.hpp): every heap allocation of the program is counted.
#include "tapegrad/bench.hpp"

#include <cstdlib>
#include <new>

// malloc & co. counted around glibc's own allocator (Eigen allocates with std::malloc, and operator new calls
// malloc too, so every heap allocation is seen once): the same wrappers as the tests' allocation checks.
#include "count_allocations.hpp"

namespace {
// A benchmark binary counts from the start.
[[maybe_unused]] const bool g_counting_on = (g_counting.store(true), true);
}  // namespace

std::uint64_t tapegrad::bench::allocations() {
  return static_cast<std::uint64_t>(g_allocations.load(std::memory_order_relaxed));
}

#if !TAPEGRAD_COUNT_ALLOCATIONS
// Elsewhere, operator new only (Eigen's own allocations are not seen).
void* operator new(std::size_t n) {
  count(n);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new(std::size_t n, std::align_val_t a) {
  count(n);
  const std::size_t al = static_cast<std::size_t>(a);
  if (void* p = std::aligned_alloc(al, (n + al - 1) / al * al)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n, std::align_val_t a) { return operator new(n, a); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
#endif
