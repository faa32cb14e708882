// Umbrella header of tapegrad::optim: optimizers, lr schedules, gradient clipping, checkpoints.
#pragma once

#include "tapegrad/optim/adam.hpp"
#include "tapegrad/optim/checkpoint.hpp"
#include "tapegrad/optim/clip.hpp"
#include "tapegrad/optim/lbfgs.hpp"
#include "tapegrad/optim/optimizer.hpp"
#include "tapegrad/optim/scheduler.hpp"
#include "tapegrad/optim/sgd.hpp"
#include "tapegrad/optim/trust_region.hpp"
