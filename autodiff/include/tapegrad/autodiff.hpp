// tapegrad's autodiff: the tape, its ops and the gradient checker.
#pragma once

#include "tapegrad/autodiff/gemm.hpp"
#include "tapegrad/autodiff/gradcheck.hpp"
#include "tapegrad/autodiff/graphviz.hpp"
#include "tapegrad/autodiff/hvp.hpp"
#include "tapegrad/autodiff/matrix.hpp"
#include "tapegrad/autodiff/ops.hpp"
#include "tapegrad/autodiff/print.hpp"
#include "tapegrad/autodiff/profiler.hpp"
#include "tapegrad/autodiff/tape.hpp"
