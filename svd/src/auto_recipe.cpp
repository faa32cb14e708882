// The auto recipe (work in progress).
#include "recipes.hpp"

namespace tapegrad::svd::detail {

template <class T>
SvdResult run_auto(const Matrix<double>&, const SvdOptions&) {
  throw SvdOptionError("the auto recipe is not implemented yet: use --recipe seed");
}

template SvdResult run_auto<float>(const Matrix<double>&, const SvdOptions&);
template SvdResult run_auto<double>(const Matrix<double>&, const SvdOptions&);

}  // namespace tapegrad::svd::detail
