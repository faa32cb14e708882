// How tapegrad-svd was started: by mpirun/mpiexec with several processes or not, read from the environment
// the launchers set. It needs no MPI, so it works in a tapegrad-svd built without MPI too (which then refuses
// to run as one of several processes instead of computing P copies).
#pragma once

#include <cstdlib>

namespace tapegrad::svd::tool {

/// Whether this program was started by mpirun/mpiexec with more than one process (environment only; does not
/// initialise MPI). The tool stays single-process, without MPI, otherwise.
inline bool launched_with_several_processes() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS"}) {
    if (const char* v = std::getenv(name)) return std::atoi(v) > 1;
  }
  return false;
}

/// The rank mpirun/mpiexec gave this process, from the environment (0 when not started by them); like
/// launched_with_several_processes, it needs no MPI: the tool prints a message from rank 0 only.
inline int launched_rank() {
  for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK"}) {
    if (const char* v = std::getenv(name)) return std::atoi(v);
  }
  return 0;
}

}  // namespace tapegrad::svd::tool
