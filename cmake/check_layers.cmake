# The layering rule (docs/architecture.md): a library includes its own headers and those of the layers below
# it, never one above. Run as
#   cmake -DROOT=<source tree> -P check_layers.cmake
# It reads every #include of tapegrad's headers in each library's folder and fails, naming the file and the
# include, on one that reaches a layer the library may not use. Relative includes may not leave the folder.
#
# Layers, bottom up (each may use those listed for it):
#   autodiff       the tape and the ops                  autodiff
#   optim          optimizers                            autodiff, optim
#   io             matrix readers and writers            autodiff, io
#   svd            losses, recipes, solver               autodiff, optim, io, svd
#   mpi            collective ops, row-partitioned SVD   autodiff, optim, io, svd, mpi
#   bench/helper   tapegrad::bench                       autodiff, optim, bench
# Above every library: svd/tool (the tool), tests, bench, examples: they may include anything.
cmake_minimum_required(VERSION 3.25)
if(NOT ROOT)
  message(FATAL_ERROR "check_layers.cmake: set ROOT to the source tree")
endif()

set(allowed_autodiff autodiff)
set(allowed_optim autodiff optim)
set(allowed_io autodiff io)
set(allowed_svd autodiff optim io svd)
set(allowed_mpi autodiff optim io svd mpi)
set(allowed_bench/helper autodiff optim bench)

include(${CMAKE_CURRENT_LIST_DIR}/library_files.cmake)

set(violations "")
set(checked 0)
foreach(lib IN LISTS TAPEGRAD_LIBRARIES)
  library_files(${lib} files)
  foreach(f IN LISTS files)
    file(RELATIVE_PATH rel "${ROOT}" "${f}")
    math(EXPR checked "${checked} + 1")
    file(STRINGS "${f}" includes REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]")
    foreach(line IN LISTS includes)
      string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*[<\"]([^>\"]*)[>\"].*" "\\1" inc "${line}")
      if(inc MATCHES "^tapegrad/([a-z_]+)")
        set(layer "${CMAKE_MATCH_1}")
        string(REGEX REPLACE "\\.hpp$" "" layer "${layer}")  # tapegrad/autodiff.hpp: the autodiff layer
        if(NOT layer IN_LIST allowed_${lib})
          string(APPEND violations "\n  ${rel}: #include <${inc}> (${lib} may include ${allowed_${lib}})")
        endif()
      elseif(inc MATCHES "^\\.\\./")
        # A relative include stays inside its library's folder.
        get_filename_component(dir "${f}" DIRECTORY)
        get_filename_component(target "${dir}/${inc}" ABSOLUTE)
        file(RELATIVE_PATH to "${ROOT}/${lib}" "${target}")
        if(to MATCHES "^\\.\\./")
          string(APPEND violations "\n  ${rel}: #include \"${inc}\" leaves ${lib}/")
        endif()
      endif()
    endforeach()
  endforeach()
endforeach()
if(checked EQUAL 0)
  message(FATAL_ERROR "check_layers.cmake: no library files found under ${ROOT}")
endif()
if(violations)
  message(FATAL_ERROR "a library includes a layer above it (docs/architecture.md):${violations}")
endif()
message(STATUS "layers: ${checked} library files, every include within its layer or below")
