// GCC 12's AVX-512 headers warn "'__Y' may be used uninitialized" (or "is used uninitialized") from
// _mm256_undefined_pd() (a self-initialised variable, GCC bug 105593, fixed in GCC 13) wherever Eigen's
// AVX-512 code is inlined, which breaks -Werror builds with -march=native. The warning is placed in the
// system header's lines, so including that header first, with the warning off for its lines only, silences
// exactly those and nothing in any other code. matrix.hpp includes this before Eigen (for programs that
// include tapegrad first); tapegrad's own build also includes it before every translation unit
// (cmake/gcc12_avx512_workaround.hpp, for the files that include Eigen first).
#pragma once

#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ == 12 && defined(__AVX512F__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#endif
