#include "alloc_counter.hpp"

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
  count();
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new(std::size_t n, std::align_val_t a) {
  count();
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

// ---------------------------------------------------------------------------------------------
// The benchmarks' main (it replaces benchmark_main's, which the linker then leaves out of its archive):
// Google Benchmark's flags, plus --threads=N for OpenBLAS's threads, 1 unless told, so that timings do
// not depend on how many cores the machine has or how busy they are.

#include <benchmark/benchmark.h>

#include <cstring>
#include <string>

#if defined(__GNUC__)
// OpenBLAS's own thread control. Weak, so that the benchmarks still link without OpenBLAS.
extern "C" void openblas_set_num_threads(int) __attribute__((weak));
#endif

int main(int argc, char** argv) {
  int threads = 1;
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--threads=", 10) == 0) {
      threads = std::atoi(argv[i] + 10);
    } else if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
      threads = std::atoi(argv[++i]);
    } else {
      argv[out++] = argv[i];
    }
  }
  argc = out;
  if (threads < 1) threads = 1;
#if defined(__GNUC__)
  if (openblas_set_num_threads != nullptr) openblas_set_num_threads(threads);
#endif
  benchmark::AddCustomContext("openblas_threads", std::to_string(threads));
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
