# The `mpi: tapegrad-svd ...` tests: one run of tapegrad-svd on one process and one through mpirun on NP
# processes, with the same ARGS and MATRIX; both must exit 0 (or EXPECT_EXIT), the NP-process run must print exactly one JSON
# object (process 0's) with the same shape, and its --out files (U gathered from every process) must equal
# the one-process files within TOL (compare_matrices).
#   cmake -DEXE=tapegrad-svd -DMPIEXEC=mpirun -DNP=3 -DARGS=a@@b -DMATRIX=file -DWORK=dir -DCOMPARE=exe
#         -DTOL=1e-9 [-DEXPECT_EXIT=1] -P run_cli_mpi.cmake
string(REPLACE "@@" ";" args "${ARGS}")
file(REMOVE_RECURSE "${WORK}")
set(runs one many)
set(cmd_one "${EXE}")
set(cmd_many "${MPIEXEC}" -n ${NP} --oversubscribe --allow-run-as-root "${EXE}")
foreach(run IN LISTS runs)
  execute_process(COMMAND ${cmd_${run}} ${args} --json --out "${WORK}/${run}" "${MATRIX}"
                  OUTPUT_VARIABLE out_${run} ERROR_VARIABLE err RESULT_VARIABLE rc TIMEOUT 100)
  if(NOT DEFINED EXPECT_EXIT OR EXPECT_EXIT STREQUAL "")
    set(EXPECT_EXIT 0)
  endif()
  if(NOT rc STREQUAL "${EXPECT_EXIT}")
    message(FATAL_ERROR "${run}: exit code ${rc} (expected ${EXPECT_EXIT})\n--- stdout:\n${out_${run}}\n--- stderr:\n${err}")
  endif()
endforeach()
string(REGEX MATCHALL "\"singular_values\"" objects "${out_many}")
list(LENGTH objects count)
if(NOT count EQUAL 1)
  message(FATAL_ERROR "${NP} processes printed ${count} JSON objects, expected 1 (process 0's):\n${out_many}")
endif()
foreach(run IN LISTS runs)
  string(JSON rows_${run} GET "${out_${run}}" shape 0)
  string(JSON cols_${run} GET "${out_${run}}" shape 1)
endforeach()
if(NOT rows_one EQUAL rows_many OR NOT cols_one EQUAL cols_many)
  message(FATAL_ERROR "shapes differ: ${rows_one}x${cols_one} vs ${rows_many}x${cols_many}")
endif()
foreach(f singular_values.csv U.csv V.csv)
  execute_process(COMMAND "${COMPARE}" "${WORK}/one/${f}" "${WORK}/many/${f}" ${TOL} RESULT_VARIABLE rc
                  OUTPUT_VARIABLE out ERROR_VARIABLE out)
  message(STATUS "${out}")
  if(NOT rc STREQUAL "0")
    message(FATAL_ERROR "${f}: the ${NP}-process result differs from one process's: ${out}")
  endif()
endforeach()
file(REMOVE_RECURSE "${WORK}")
