# docs/writing-a-loss.md's graph picture: `tapegrad-svd --graph` writes the seed loss graph of M1 as DOT as the
# formula is written (matmul, transpose, diag, square, mean), `--graph-optimized` as it runs (the fused
# kernels), both with the initial loss at the root, and Graphviz's dot (when installed) renders them.
# Usage: cmake -DTOOL=<tapegrad-svd> -DDATA=<tests/data/seed/svd/M1> -DOUT=<file.dot> -P check_graph.cmake
cmake_minimum_required(VERSION 3.25)
execute_process(COMMAND ${TOOL} --recipe seed --init-dir ${DATA} --graph ${OUT} --graph-optimized ${OUT}.run.dot
                        --quiet ${DATA}/M.csv RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "tapegrad-svd --graph exited with ${rc}")
endif()
# As written: the notebook's five ops, the parameters and constants by name, the initial loss at the root.
file(READ ${OUT} dot)
foreach(want "digraph tape {" "seed loss, 5x4, float32" "U: parameter" "diag_sqrt: parameter" "V: parameter"
        "M: constant" "I: constant" "\"matmul " "\"transpose" "\"diag " "\"square " "\"mean " "1x1 = 0.177408"
        "peripheries=2")
  string(FIND "${dot}" "${want}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "${OUT} lacks '${want}'")
  endif()
endforeach()
foreach(fused "scale_columns" "matmul_nt" "crossprod" "mse")
  string(FIND "${dot}" "${fused}" at)
  if(NOT at EQUAL -1)
    message(FATAL_ERROR "${OUT} (the graph as written) names the fused op '${fused}'")
  endif()
endforeach()
# As it runs: the fused kernels, each with the pattern it replaced; the same initial loss.
file(READ ${OUT}.run.dot run)
foreach(want "as it runs" "scale_columns" "= matmul(A, diag(v))" "matmul_nt" "= matmul(A, transpose(B))"
        "\"crossprod " "= matmul(transpose(A), A)" "tcrossprod" "= matmul(A, transpose(A))" "mse"
        "= mean(square(a - b))" "1x1 = 0.177408")
  string(FIND "${run}" "${want}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "${OUT}.run.dot lacks '${want}'")
  endif()
endforeach()
foreach(gone "\"transpose" "\"diag ")
  string(FIND "${run}" "${gone}" at)
  if(NOT at EQUAL -1)
    message(FATAL_ERROR "${OUT}.run.dot still draws '${gone}'")
  endif()
endforeach()
find_program(DOT_EXECUTABLE dot)
if(DOT_EXECUTABLE)
  foreach(file ${OUT} ${OUT}.run.dot)
    execute_process(COMMAND ${DOT_EXECUTABLE} -Tsvg ${file} -o ${file}.svg RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "dot could not render ${file}")
    endif()
  endforeach()
endif()
