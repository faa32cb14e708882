// The auto recipe's manifold tools (stiefel.cpp; docs/svd-auto.md).
#pragma once

#include <functional>

#include "recipes.hpp"
#include "tapegrad/optim/trust_region.hpp"

namespace tapegrad::svd::detail {

/// Modified Gram–Schmidt, twice: orthonormal columns spanning what a's columns span (a dependent column
/// becomes a fresh unit vector orthogonal to the earlier ones). With a partition, a holds this process's rows
/// and every dot product is summed over processes.
template <class T>
void orthonormalize(Matrix<T>& a, const Partition* part = nullptr);

/// Called after every outer iteration of trust_region_topk (first at the start) with the iteration, M V and
/// Mᵀ U at the current point (read off the gradient); sets the CG tolerance floor for the next step
/// (TrustRegion::set_cg_floor) and says whether to stop.
template <class T>
using AfterStep = std::function<bool(long it, const Matrix<T>& mv, const Matrix<T>& mtu, double& cg_floor)>;

/// The top-k triplets of mn (k = u's columns, any k up to min(m, n)) by the preconditioned Riemannian trust
/// region on the Brockett cost; u and v hold the start and, on return, the result (orthonormal columns).
/// hvps: the Hessian-vector products made. Returns the trust region's status when it stopped.
template <class T>
optim::TrustRegionStatus trust_region_topk(const Matrix<T>& mn, Parameter<T>& u, Parameter<T>& v,
                                           long max_iterations, const AfterStep<T>& after_step, long& hvps);

}  // namespace tapegrad::svd::detail
