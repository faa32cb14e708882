// The Matrix Market (.mtx) reader (tapegrad::io; errors and limits in errors.hpp).
#pragma once

#include <string>
#include <string_view>

#include "tapegrad/autodiff/matrix.hpp"
#include "tapegrad/io/errors.hpp"

namespace tapegrad::io {

/// Matrix Market text: `%%MatrixMarket matrix array|coordinate real|double|integer general|symmetric|
/// skew-symmetric`. Coordinate duplicates are summed. Pattern, complex and hermitian files are refused.
Matrix<double> parse_matrix_market(std::string_view text, const std::string& name,
                                   const ReadLimits& limits = {});

}  // namespace tapegrad::io
