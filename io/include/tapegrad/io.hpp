// Umbrella header of tapegrad::io: the matrix file readers (CSV, Matrix Market, NumPy .npy) and writers.
// Needs only tapegrad::autodiff's Matrix; see docs/matrix-files.md.
#pragma once

#include "tapegrad/io/csv.hpp"
#include "tapegrad/io/errors.hpp"
#include "tapegrad/io/files.hpp"
#include "tapegrad/io/matrix_market.hpp"
#include "tapegrad/io/npy.hpp"
#include "tapegrad/io/write.hpp"
