# tapegrad::mpi: the collective ops (allreduce_sum, replicated) and tapegrad::mpi::Context. Included
# from the top CMakeLists.txt when TAPEGRAD_USE_MPI is on; the row-partitioned SVD is added to this library by
# svd/CMakeLists.txt. Only this library links MPI: tapegrad::autodiff, ::optim and ::svd never do.
add_library(tapegrad_mpi ${CMAKE_CURRENT_LIST_DIR}/src/collective.cpp)
add_library(tapegrad::mpi ALIAS tapegrad_mpi)
set_target_properties(tapegrad_mpi PROPERTIES EXPORT_NAME mpi OUTPUT_NAME tapegrad_mpi POSITION_INDEPENDENT_CODE ON)
target_link_libraries(tapegrad_mpi PUBLIC tapegrad::autodiff PRIVATE MPI::MPI_CXX)
tapegrad_set_warnings(tapegrad_mpi)
# Its own export set: the package config loads it only when the mpi component (and MPI) is found.
install(TARGETS tapegrad_mpi EXPORT tapegradMpiTargets)
