# Tests of tapegrad::optim. Included from tests/CMakeLists.txt: paths are relative to tests/.
find_package(nlohmann_json 3 REQUIRED)

tapegrad_add_test(test_optim
  optim/test_reference.cpp
  optim/test_optimizers.cpp
  optim/test_checkpoint.cpp
  optim/test_lbfgs.cpp
  optim/test_trust_region.cpp
  optim/test_trust_region_manifold.cpp
  LIBS tapegrad::optim tapegrad::autodiff nlohmann_json::nlohmann_json)

# The seed replays (20,000 iterations per matrix and optimizer) in their own executable.
tapegrad_add_test(test_optim_seed
  optim/test_seed_replay.cpp
  LIBS tapegrad::optim tapegrad::autodiff)

# Steady-state steps allocate nothing (this executable counts malloc calls).
tapegrad_add_test(test_optim_alloc
  optim/test_alloc.cpp
  LIBS tapegrad::optim tapegrad::autodiff)
