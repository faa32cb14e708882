# docs/writing-a-loss.md's graph picture: `tapegrad-svd --graph` writes the seed loss graph of M1 as DOT, with
# the initial loss at the root, and Graphviz's dot (when installed) renders it.
# Usage: cmake -DTOOL=<tapegrad-svd> -DDATA=<tests/data/seed/svd/M1> -DOUT=<file.dot> -P check_graph.cmake
cmake_minimum_required(VERSION 3.25)
execute_process(COMMAND ${TOOL} --recipe seed --init-dir ${DATA} --graph ${OUT} --quiet ${DATA}/M.csv
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "tapegrad-svd --graph exited with ${rc}")
endif()
file(READ ${OUT} dot)
foreach(want "digraph tape {" "seed loss, 5x4, float32" "parameter" "constant" "scale_columns" "gram"
        "1x1 = 0.177408" "peripheries=2")
  string(FIND "${dot}" "${want}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "${OUT} lacks '${want}'")
  endif()
endforeach()
find_program(DOT_EXECUTABLE dot)
if(DOT_EXECUTABLE)
  execute_process(COMMAND ${DOT_EXECUTABLE} -Tsvg ${OUT} -o ${OUT}.svg RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "dot could not render ${OUT}")
  endif()
endif()
