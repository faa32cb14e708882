# Misuse of the ops' scalar overloads and operators fails to compile with a short message that says what to
# write instead. Each case is compiled (syntax only) by check_misuse.cmake.
set(tapegrad_misuse_cases
    "0|"
    "1|Var * Var is not defined (matrix or elementwise product?): write matmul(a, b) or mul(a, b)"
    "2|Var / Var is not defined: write div(a, b)"
    "3|tapegrad::div(a, b): b must be a Var of a's scalar type or an arithmetic scalar"
    "4|tapegrad::mul(a, b): b must be a Var of a's scalar type or an arithmetic scalar"
    "5|tapegrad::add(a, b): b must be a Var of a's scalar type or an arithmetic scalar"
    "6|tapegrad::pow(a, p): p must be an arithmetic scalar")
foreach(c IN LISTS tapegrad_misuse_cases)
  string(REPLACE "|" ";" parts "${c}")
  list(GET parts 0 n)
  list(LENGTH parts len)
  set(expect "")
  if(len GREATER 1)
    list(GET parts 1 expect)
  endif()
  if(n EQUAL 0)
    set(name "misuse: the control case (correct scalar calls) compiles")
  else()
    set(name "misuse: case ${n} does not compile and says so in a few lines")
  endif()
  add_test(NAME "${name}"
           COMMAND ${CMAKE_COMMAND} -DCXX=${CMAKE_CXX_COMPILER} -DINCLUDE_DIR=${PROJECT_SOURCE_DIR}/autodiff/include
                   -DEIGEN_DIR=${EIGEN3_INCLUDE_DIR} -DCASE=${n} "-DEXPECT=${expect}" -DMAX_LINES=15
                   -P ${CMAKE_CURRENT_LIST_DIR}/check_misuse.cmake)
endforeach()
