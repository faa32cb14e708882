// tapegrad::bench::run (tapegrad/bench.hpp): Google Benchmark's main, plus --threads=N for OpenBLAS's
// threads, 1 unless told, so that timings do not depend on how many cores the machine has or how busy they
// are.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "tapegrad/bench.hpp"

#if defined(__GNUC__)
// OpenBLAS's own thread control. Weak, so that the benchmarks still link without OpenBLAS.
extern "C" void openblas_set_num_threads(int) __attribute__((weak));
#endif

int tapegrad::bench::run(int argc, char** argv) {
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
