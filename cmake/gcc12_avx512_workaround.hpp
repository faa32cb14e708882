// Included before every translation unit of tapegrad's own build when it targets AVX-512 with GCC 12 (top
// CMakeLists.txt), for the files that include Eigen before any tapegrad header: the workaround itself, and
// why, is tapegrad/autodiff/gcc12_avx512_workaround.hpp (which matrix.hpp includes too).
#pragma once
#include "../autodiff/include/tapegrad/autodiff/gcc12_avx512_workaround.hpp"
