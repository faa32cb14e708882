# The API reference: `cmake --build <build> --target api-docs` runs Doxygen over every public header
# (*/include/tapegrad/**) into <build>/api-docs/html. A public declaration without a doc comment, or a doc
# comment Doxygen cannot read, fails the target (WARN_AS_ERROR). Internals (namespace detail) are left out.
find_package(Doxygen QUIET)
if(NOT DOXYGEN_FOUND)
  message(STATUS "tapegrad: Doxygen not found, no api-docs target (Debian: apt-get install doxygen)")
  return()
endif()
set(DOXYGEN_PROJECT_NAME tapegrad)
set(DOXYGEN_PROJECT_BRIEF "${PROJECT_DESCRIPTION}")
set(DOXYGEN_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/api-docs)
set(DOXYGEN_RECURSIVE YES)
set(DOXYGEN_FILE_PATTERNS *.hpp)
set(DOXYGEN_EXTRACT_ALL NO)
set(DOXYGEN_WARN_IF_UNDOCUMENTED YES)
set(DOXYGEN_WARN_IF_DOC_ERROR YES)
set(DOXYGEN_WARN_NO_PARAMDOC NO)
set(DOXYGEN_WARN_AS_ERROR FAIL_ON_WARNINGS)
set(DOXYGEN_QUIET YES)
set(DOXYGEN_EXCLUDE_SYMBOLS detail detail::*)
set(DOXYGEN_GENERATE_LATEX NO)
set(DOXYGEN_FULL_PATH_NAMES YES)
set(DOXYGEN_STRIP_FROM_PATH ${PROJECT_SOURCE_DIR}/autodiff/include ${PROJECT_SOURCE_DIR}/optim/include
                            ${PROJECT_SOURCE_DIR}/io/include ${PROJECT_SOURCE_DIR}/svd/include
                            ${PROJECT_SOURCE_DIR}/mpi/include)
set(DOXYGEN_STRIP_FROM_INC_PATH ${DOXYGEN_STRIP_FROM_PATH})
set(DOXYGEN_JAVADOC_AUTOBRIEF YES)
# The ops are function templates over float and double; their brief comes from the /// line above them.
doxygen_add_docs(api-docs ${PROJECT_SOURCE_DIR}/autodiff/include ${PROJECT_SOURCE_DIR}/optim/include
                 ${PROJECT_SOURCE_DIR}/io/include ${PROJECT_SOURCE_DIR}/svd/include ${PROJECT_SOURCE_DIR}/mpi/include
                 COMMENT "API reference (Doxygen) into ${CMAKE_BINARY_DIR}/api-docs")
# CI builds it (scripts/deps.sh installs Doxygen): every public declaration keeps its doc comment.
if(TAPEGRAD_BUILD_TESTS)
  add_test(NAME "docs: api-docs builds with no Doxygen warning"
           COMMAND ${CMAKE_COMMAND} --build ${CMAKE_BINARY_DIR} --target api-docs)
endif()
