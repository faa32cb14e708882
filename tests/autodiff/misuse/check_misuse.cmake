# Compiles misuse.cpp with -DMISUSE=${CASE}: it must fail, with ${EXPECT} in the output, in at most
# ${MAX_LINES} lines of diagnostics (misuse errors that read in a few lines).
execute_process(COMMAND ${CXX} -std=c++20 -fsyntax-only -I${INCLUDE_DIR} -isystem ${EIGEN_DIR}
                        -DEIGEN_MAX_ALIGN_BYTES=16 -DEIGEN_MALLOC_ALREADY_ALIGNED=0 -DMISUSE=${CASE}
                        ${CMAKE_CURRENT_LIST_DIR}/misuse.cpp
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(CASE EQUAL 0)  # the control: the same file with correct calls compiles
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "the control case does not compile:\n${out}")
  endif()
  return()
endif()
if(rc EQUAL 0)
  message(FATAL_ERROR "misuse ${CASE} compiled; it must not")
endif()
string(FIND "${out}" "${EXPECT}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "misuse ${CASE}: the error does not say \"${EXPECT}\":\n${out}")
endif()
string(REGEX MATCHALL "\n" newlines "${out}")
list(LENGTH newlines lines)
if(lines GREATER MAX_LINES)
  message(FATAL_ERROR "misuse ${CASE}: ${lines} lines of errors, more than ${MAX_LINES}:\n${out}")
endif()
message("misuse ${CASE}: ${lines} lines, says \"${EXPECT}\"")
