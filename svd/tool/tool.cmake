# tapegrad-svd, the command-line tool (included from svd/CMakeLists.txt when TAPEGRAD_BUILD_TOOLS is on).
find_package(CLI11 CONFIG REQUIRED)
find_package(nlohmann_json 3 CONFIG REQUIRED)

add_executable(tapegrad-svd ${CMAKE_CURRENT_LIST_DIR}/main.cpp)
target_link_libraries(tapegrad-svd PRIVATE tapegrad::svd tapegrad::io CLI11::CLI11 nlohmann_json::nlohmann_json)
if(TAPEGRAD_HAVE_BLAS)
  # --threads also sets OpenBLAS's thread count (openblas_set_num_threads, declared weak in main.cpp).
  target_compile_definitions(tapegrad-svd PRIVATE TAPEGRAD_HAVE_BLAS)
  target_link_libraries(tapegrad-svd PRIVATE BLAS::BLAS)
endif()
if(TARGET tapegrad_mpi)
  # `mpirun -np P tapegrad-svd ...` runs the row-partitioned SVD (issue 8); one process never initialises MPI.
  target_compile_definitions(tapegrad-svd PRIVATE TAPEGRAD_HAVE_MPI)
  target_link_libraries(tapegrad-svd PRIVATE tapegrad::mpi)
endif()
tapegrad_set_warnings(tapegrad-svd)
install(TARGETS tapegrad-svd RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
