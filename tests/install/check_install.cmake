# Installs the build tree into a scratch prefix, then configures, builds and runs the consumer project.
# CXX_FLAGS (optional): the consumer's own compiler flags (-march=native, -mavx2: a consumer built for another
# instruction set than the library must work, README "Using tapegrad from another project").
# CONSUMER_ARGS (optional, a |-separated list): more -D options for the consumer's configuration.
# SOURCE_DIR and LIB_ARGS (optional, a |-separated list): install a fresh build of SOURCE_DIR configured with LIB_ARGS
# (-DTAPEGRAD_USE_MPI=OFF, ...) instead of BUILD_DIR.
# EXPECT_NO_MPI (optional): the installed tree holds nothing of tapegrad::mpi (no headers, library or targets).
string(REPLACE "|" ";" CONSUMER_ARGS "${CONSUMER_ARGS}")
string(REPLACE "|" ";" LIB_ARGS "${LIB_ARGS}")
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
if(SOURCE_DIR)
  set(BUILD_DIR ${WORK_DIR}/lib)
  execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${BUILD_DIR} -G ${GENERATOR} ${LIB_ARGS}
                  RESULT_VARIABLE rc)
  if(rc)
    message(FATAL_ERROR "configuring tapegrad with ${LIB_ARGS} failed: ${rc}")
  endif()
  execute_process(COMMAND ${CMAKE_COMMAND} --build ${BUILD_DIR} -j2 RESULT_VARIABLE rc)
  if(rc)
    message(FATAL_ERROR "building tapegrad with ${LIB_ARGS} failed: ${rc}")
  endif()
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix} RESULT_VARIABLE rc OUTPUT_QUIET)
if(rc)
  message(FATAL_ERROR "cmake --install failed: ${rc}")
endif()
if(EXPECT_NO_MPI)
  file(GLOB_RECURSE mpi_files RELATIVE ${prefix} ${prefix}/*mpi* ${prefix}/*Mpi*)
  if(mpi_files)
    message(FATAL_ERROR "a build without MPI installed files of tapegrad::mpi: ${mpi_files}")
  endif()
  if(IS_DIRECTORY ${prefix}/include/tapegrad/mpi)
    message(FATAL_ERROR "a build without MPI installed ${prefix}/include/tapegrad/mpi")
  endif()
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${WORK_DIR}/build -G ${GENERATOR}
                        -DCMAKE_PREFIX_PATH=${prefix} -DTAPEGRAD_INCLUDE_DIR=${prefix}/include
                        "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}" ${CONSUMER_ARGS}
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "configuring the consumer failed: ${rc}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/build -j2 RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "building the consumer failed: ${rc}")
endif()
execute_process(COMMAND ${WORK_DIR}/build/consumer RESULT_VARIABLE rc OUTPUT_VARIABLE out)
message("${out}")
if(rc OR NOT out MATCHES "dz/dx = 16807")
  message(FATAL_ERROR "the consumer did not run correctly: ${rc}")
endif()
