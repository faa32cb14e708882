// Included before every translation unit of tapegrad's own build when it targets AVX-512 with GCC 12 (top
// CMakeLists.txt). GCC 12's AVX-512 headers warn "'__Y' may be used uninitialized" (or "is used
// uninitialized") from _mm256_undefined_pd() (a self-initialised variable, GCC bug 105593, fixed in GCC 13)
// wherever Eigen's AVX-512 kernels are inlined, which breaks -Werror builds with -march=native. The warning
// is located in the system header's lines, so including that header first with the warning off silences
// exactly those lines and nothing else. matrix.hpp does the same for programs that include tapegrad before
// Eigen; this covers the files that include Eigen first.
#pragma once
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ == 12 && defined(__AVX512F__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#endif
