# expect_check(<tree> <ok> <pattern>): runs the checker CHECKER (a cmake -P script taking -DROOT) on <tree>;
# with <ok> TRUE it must pass, otherwise fail with an error matching <pattern>. DEFECT says what the failing
# trees hold, for the messages.
function(expect_check tree ok pattern)
  execute_process(COMMAND ${CMAKE_COMMAND} -DROOT=${tree} -P ${CHECKER} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                  ERROR_VARIABLE err)
  if(ok AND NOT rc EQUAL 0)
    message(FATAL_ERROR "the check failed on a clean tree ${tree}: ${err}")
  endif()
  if(NOT ok AND rc EQUAL 0)
    message(FATAL_ERROR "the check passed on ${tree}, which has ${DEFECT} (${pattern})")
  endif()
  if(NOT ok AND NOT err MATCHES "${pattern}")
    message(FATAL_ERROR "the check failed on ${tree} without naming '${pattern}': ${err}")
  endif()
endfunction()
