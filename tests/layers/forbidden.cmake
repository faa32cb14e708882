# A tree with one forbidden include per case: the layer check must fail and name it; without it, pass.
#   cmake -DCHECKER=check_layers.cmake -DWORK=dir -P forbidden.cmake
cmake_minimum_required(VERSION 3.25)
set(DEFECT "a forbidden include")
include(${CMAKE_CURRENT_LIST_DIR}/expect_check.cmake)

file(REMOVE_RECURSE ${WORK})
# A clean tree: autodiff uses itself, svd uses autodiff, optim and svd, mpi uses svd and autodiff.
file(WRITE ${WORK}/clean/autodiff/src/tape.cpp "#include \"tapegrad/autodiff/tape.hpp\"\n")
file(WRITE ${WORK}/clean/optim/src/sgd.cpp "#include \"tapegrad/autodiff.hpp\"\n#include <tapegrad/optim/sgd.hpp>\n")
file(WRITE ${WORK}/clean/svd/src/solver.cpp
     "#include \"tapegrad/optim/lbfgs.hpp\"\n#include \"tapegrad/svd/solver.hpp\"\n#include \"recipes.hpp\"\n")
file(WRITE ${WORK}/clean/mpi/src/svd.cpp
     "#include \"tapegrad/mpi/svd.hpp\"\n#include \"tapegrad/svd/partition.hpp\"\n#include \"tapegrad/autodiff.hpp\"\n")
file(WRITE ${WORK}/clean/svd/tool/main.cpp "#include \"tapegrad/bench.hpp\"\n")  # the tool may use anything
expect_check(${WORK}/clean TRUE "")

# autodiff including svd.
file(COPY ${WORK}/clean/ DESTINATION ${WORK}/up)
file(APPEND ${WORK}/up/autodiff/src/tape.cpp "#include \"tapegrad/svd/solver.hpp\"\n")
expect_check(${WORK}/up FALSE "autodiff/src/tape.cpp: #include <tapegrad/svd/solver.hpp>")

# optim including the io layer (a sibling, not below it), with angle brackets and spaces.
file(COPY ${WORK}/clean/ DESTINATION ${WORK}/sibling)
file(APPEND ${WORK}/sibling/optim/src/sgd.cpp "  #  include <tapegrad/io/csv.hpp>\n")
expect_check(${WORK}/sibling FALSE "optim/src/sgd.cpp: #include <tapegrad/io/csv.hpp>")

# svd including mpi (the layer above it: svd stays free of MPI).
file(COPY ${WORK}/clean/ DESTINATION ${WORK}/mpi_up)
file(APPEND ${WORK}/mpi_up/svd/src/solver.cpp "#include \"tapegrad/mpi/collective.hpp\"\n")
expect_check(${WORK}/mpi_up FALSE "svd/src/solver.cpp: #include <tapegrad/mpi/collective.hpp>")

# mpi reaching into svd's private sources (the seam is the public tapegrad/svd/partition.hpp).
file(COPY ${WORK}/clean/ DESTINATION ${WORK}/mpi_private)
file(APPEND ${WORK}/mpi_private/mpi/src/svd.cpp "#include \"../../svd/src/recipes.hpp\"\n")
expect_check(${WORK}/mpi_private FALSE "mpi/src/svd.cpp: #include \"../../svd/src/recipes.hpp\" leaves mpi/")

# A relative include out of svd's folder.
file(COPY ${WORK}/clean/ DESTINATION ${WORK}/relative)
file(APPEND ${WORK}/relative/svd/src/solver.cpp "#include \"../../autodiff/src/gemm.hpp\"\n")
expect_check(${WORK}/relative FALSE "svd/src/solver.cpp: #include \"../../autodiff/src/gemm.hpp\" leaves svd/")
file(REMOVE_RECURSE ${WORK})
message(STATUS "forbidden includes: each refused and named")
