// The benchmarks' main: Google Benchmark's flags, plus --threads=N for OpenBLAS's threads
// (tapegrad::bench::run).
#include "tapegrad/bench.hpp"

int main(int argc, char** argv) { return tapegrad::bench::run(argc, argv); }
