// The NumPy .npy reader (tapegrad::io; errors and limits in errors.hpp).
#pragma once

#include <string>
#include <string_view>

#include "tapegrad/autodiff/matrix.hpp"
#include "tapegrad/io/errors.hpp"

namespace tapegrad::io {

/// NumPy .npy bytes: format versions 1.0, 2.0 and 3.0; dtype '<f8', '<f4', '>f8' or '>f4' (byte-swapped);
/// C or Fortran order; shape (m, n), or (n,) read as a 1×n row (as numpy.atleast_2d does).
Matrix<double> parse_npy(std::string_view bytes, const std::string& name, const ReadLimits& limits = {});

}  // namespace tapegrad::io
