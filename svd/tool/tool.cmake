# tapegrad-svd, the command-line tool (included from svd/CMakeLists.txt when TAPEGRAD_BUILD_TOOLS is on): its
# parts as a static library (tested on their own: tests/svd/test_tool.cpp), main.cpp orchestrating.
find_package(CLI11 CONFIG REQUIRED)
find_package(nlohmann_json 3 CONFIG REQUIRED)

add_library(tapegrad_svd_tool STATIC
            ${CMAKE_CURRENT_LIST_DIR}/errors.cpp ${CMAKE_CURRENT_LIST_DIR}/options.cpp
            ${CMAKE_CURRENT_LIST_DIR}/out_dir.cpp ${CMAKE_CURRENT_LIST_DIR}/outputs.cpp
            ${CMAKE_CURRENT_LIST_DIR}/processes.cpp)
target_include_directories(tapegrad_svd_tool PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(tapegrad_svd_tool PUBLIC tapegrad::svd tapegrad::io CLI11::CLI11 nlohmann_json::nlohmann_json)
if(TAPEGRAD_HAVE_BLAS)
  # --threads also sets OpenBLAS's thread count (openblas_set_num_threads, declared weak in options.cpp).
  target_compile_definitions(tapegrad_svd_tool PRIVATE TAPEGRAD_HAVE_BLAS)
  target_link_libraries(tapegrad_svd_tool PUBLIC BLAS::BLAS)
endif()
if(TAPEGRAD_HAVE_MPI)
  # `mpirun -np P tapegrad-svd ...` runs the row-partitioned SVD; one process never initialises MPI. PUBLIC:
  # processes.hpp's class layout depends on it.
  target_compile_definitions(tapegrad_svd_tool PUBLIC TAPEGRAD_HAVE_MPI)
  target_link_libraries(tapegrad_svd_tool PUBLIC tapegrad::mpi)
endif()
tapegrad_set_warnings(tapegrad_svd_tool)

add_executable(tapegrad-svd ${CMAKE_CURRENT_LIST_DIR}/main.cpp)
target_link_libraries(tapegrad-svd PRIVATE tapegrad_svd_tool)
tapegrad_set_warnings(tapegrad-svd)
install(TARGETS tapegrad-svd RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
