// Counts heap allocations in a test executable: malloc & co. are replaced by counting wrappers around
// glibc's own allocator, which catches Eigen's allocations (std::malloc) as well as operator new's.
// Include it in exactly one source file of the executable. Counting is off under sanitizers (which
// replace the allocator themselves) and off glibc: TAPEGRAD_COUNT_ALLOCATIONS is then 0.
// What OpenBLAS allocates itself is counted apart (g_blas_allocations), not in g_allocations: its AVX-512
// small-matrix GEMM kernels (0.3.21, dgemm_small_kernel_*_COOPERLAKE/SKYLAKEX) malloc and free a packing
// buffer on every call, which tapegrad cannot avoid short of not calling BLAS for those shapes.
#pragma once

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstring>
#if defined(__GLIBC__)
#include <dlfcn.h>
#endif

#if defined(__SANITIZE_ADDRESS__)
#define TAPEGRAD_COUNT_ALLOCATIONS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TAPEGRAD_COUNT_ALLOCATIONS 0
#endif
#endif
#if !defined(TAPEGRAD_COUNT_ALLOCATIONS) && defined(__GLIBC__)
#define TAPEGRAD_COUNT_ALLOCATIONS 1
#endif
#if !defined(TAPEGRAD_COUNT_ALLOCATIONS)
#define TAPEGRAD_COUNT_ALLOCATIONS 0
#endif

namespace {
std::atomic<bool> g_counting{false};
std::atomic<long> g_allocations{0};
std::atomic<long> g_blas_allocations{0};  ///< OpenBLAS's own, while counting (not in g_allocations)
std::atomic<std::size_t> g_largest{0};    ///< the largest single request while counting, in bytes
// Whether the code at `caller` belongs to OpenBLAS's shared library (dladdr allocates nothing).
inline bool called_from_openblas(const void* caller) {
#if defined(__GLIBC__)
  Dl_info info;
  return dladdr(caller, &info) != 0 && info.dli_fname && std::strstr(info.dli_fname, "openblas");
#else
  (void)caller;
  return false;
#endif
}
// `caller`: the return address of the allocation function (who called malloc), or null if unknown.
inline void count(std::size_t bytes, const void* caller = nullptr) {
  if (!g_counting.load(std::memory_order_relaxed)) return;
  if (caller && called_from_openblas(caller)) {
    g_blas_allocations.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  std::size_t seen = g_largest.load(std::memory_order_relaxed);
  while (bytes > seen && !g_largest.compare_exchange_weak(seen, bytes, std::memory_order_relaxed)) {
  }
}
}  // namespace

#if TAPEGRAD_COUNT_ALLOCATIONS
extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
void __libc_free(void*);

void* malloc(std::size_t n) noexcept {
  count(n, __builtin_return_address(0));
  return __libc_malloc(n);
}
void* calloc(std::size_t k, std::size_t n) noexcept {
  count(k * n, __builtin_return_address(0));
  return __libc_calloc(k, n);
}
void* realloc(void* p, std::size_t n) noexcept {
  count(n, __builtin_return_address(0));
  return __libc_realloc(p, n);
}
void* memalign(std::size_t a, std::size_t n) noexcept {
  count(n, __builtin_return_address(0));
  return __libc_memalign(a, n);
}
void* aligned_alloc(std::size_t a, std::size_t n) noexcept {
  count(n, __builtin_return_address(0));
  return __libc_memalign(a, n);
}
int posix_memalign(void** out, std::size_t a, std::size_t n) noexcept {
  count(n, __builtin_return_address(0));
  void* p = __libc_memalign(a, n);
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}
void free(void* p) noexcept { __libc_free(p); }
}
#endif
