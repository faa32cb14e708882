// The seed recipe from the notebooks' initial values of one matrix (tests/data/seed/svd/Mi/).
#pragma once

#include <string>

#include "tapegrad/svd/solver.hpp"
#include "test_data.hpp"

namespace tapegrad::test {

/// SvdOptions for the seed recipe starting from dir's U0.csv, diag_sqrt0.csv and V0.csv (dir relative to the
/// test data, ending in '/').
inline svd::SvdOptions seed_options(const std::string& dir) {
  svd::SvdOptions o;
  o.recipe = svd::Recipe::Seed;
  o.init =
      svd::SeedInit{read_csv(dir + "U0.csv"), read_csv(dir + "diag_sqrt0.csv"), read_csv(dir + "V0.csv")};
  return o;
}

}  // namespace tapegrad::test
