// Matrix products for the ops: OpenBLAS's CBLAS for large sizes when available, Eigen otherwise.
#pragma once

#include "tapegrad/autodiff/gemm.hpp"

namespace tapegrad::detail {

using ::tapegrad::gemm;
using ::tapegrad::syrk;

/// True when products of this size go to BLAS.
bool use_blas(Index m, Index n, Index k);

}  // namespace tapegrad::detail
