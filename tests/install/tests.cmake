# A separate project finds the installed tapegrad with find_package and builds against it, and every
# installed header compiles on its own.
# tapegrad_install_test(NAME suffix [NO_MPI] [FLAGS consumer CXX flags] [ARGS more consumer -D options]
#                       [LIB_ARGS options of a fresh build of tapegrad to install instead of this one]).
# NO_MPI: the installed tree must hold nothing of tapegrad::mpi (headers included).
function(tapegrad_install_test name suffix)
  cmake_parse_arguments(ARG "NO_MPI" "" "FLAGS;ARGS;LIB_ARGS" ${ARGN})
  string(REPLACE ";" " " flags "${ARG_FLAGS}")
  # The lists cross add_test's command line joined by '|' (check_install.cmake splits them).
  string(REPLACE ";" "|" args "${ARG_ARGS}")
  set(lib)
  if(ARG_LIB_ARGS)
    string(REPLACE ";" "|" lib_args "${ARG_LIB_ARGS}")
    set(lib -DSOURCE_DIR=${PROJECT_SOURCE_DIR} "-DLIB_ARGS=${lib_args}")
  endif()
  add_test(NAME "install: ${name}"
           COMMAND ${CMAKE_COMMAND} -DBUILD_DIR=${CMAKE_BINARY_DIR}
                   -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/install_check${suffix}
                   -DCONSUMER_DIR=${CMAKE_CURRENT_SOURCE_DIR}/install/consumer -DGENERATOR=${CMAKE_GENERATOR}
                   "-DCXX_FLAGS=${flags}" "-DCONSUMER_ARGS=${args}" ${lib} -DEXPECT_NO_MPI=${ARG_NO_MPI}
                   -P ${CMAKE_CURRENT_SOURCE_DIR}/install/check_install.cmake)
  # Each builds a consumer (and one builds the libraries too) while other tests run: generous limits.
  set_tests_properties("install: ${name}" PROPERTIES TIMEOUT 1800)
endfunction()
tapegrad_install_test("a consumer project builds against the installed package" "")

# The same consumer compiled for a wider instruction set than the library: Eigen's alignment
# (EIGEN_MAX_ALIGN_BYTES, 32 with AVX, 64 with AVX-512) must not differ across the library boundary, where one
# side allocates a matrix and the other frees it. The package carries the setting (autodiff/CMakeLists.txt).
# Each runs only where the CPU has the instructions (it would die of SIGILL, not of the bug, elsewhere). The
# headers' self-containment does not depend on the instruction set: the first test checks it, these do not.
set(tapegrad_cpu_flags "")
if(EXISTS /proc/cpuinfo)
  file(STRINGS /proc/cpuinfo tapegrad_cpu_flags REGEX "^flags" LIMIT_COUNT 1)
endif()
tapegrad_install_test("a consumer built with -march=native" "_native" FLAGS -march=native
                      ARGS -DTAPEGRAD_CHECK_HEADERS=OFF)
if(tapegrad_cpu_flags MATCHES " avx2( |$)")
  tapegrad_install_test("a consumer built with -mavx2" "_avx2" FLAGS -mavx2 ARGS -DTAPEGRAD_CHECK_HEADERS=OFF)
else()
  message(STATUS "tapegrad: this CPU has no AVX2; the -mavx2 install test is not run")
endif()

# find_package(tapegrad COMPONENTS autodiff optim io) on a tapegrad built without MPI, by a consumer on a machine
# without MPI (MPI's find module is disabled for it): the package asks only for what those components need, and
# each of their installed headers (tapegrad/io/*.hpp too) compiles with those targets alone (no tapegrad::svd);
# nothing of tapegrad::mpi is installed (no tapegrad/mpi/ headers, library or tapegradMpiTargets.cmake).
# A tree configured without MPI (the asan preset, which CI's test command runs) installs itself, with the
# sanitizer flags passed on to the consumer; a tree with MPI builds the libraries again without it, unoptimised
# (-O0: what is checked is the package, not the code's speed), with this build's compiler launcher (ccache).
set(tapegrad_nompi_name "a consumer of a build without MPI finds autodiff, optim and io")
set(tapegrad_nompi_args -DTAPEGRAD_COMPONENTS=autodiff,optim,io -DCMAKE_DISABLE_FIND_PACKAGE_MPI=ON)
if(NOT TAPEGRAD_USE_MPI)
  set(tapegrad_nompi_flags)
  if(TAPEGRAD_SANITIZE)
    set(tapegrad_nompi_flags -fsanitize=address,undefined -fno-omit-frame-pointer)
  endif()
  tapegrad_install_test("${tapegrad_nompi_name}" "_nompi" NO_MPI FLAGS ${tapegrad_nompi_flags} ARGS ${tapegrad_nompi_args})
else()
  tapegrad_install_test("${tapegrad_nompi_name}" "_nompi" NO_MPI ARGS ${tapegrad_nompi_args}
                        LIB_ARGS -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-O0 -DTAPEGRAD_USE_MPI=OFF
                                 -DTAPEGRAD_BUILD_TESTS=OFF -DTAPEGRAD_BUILD_BENCH=OFF -DTAPEGRAD_BUILD_EXAMPLES=OFF
                                 -DTAPEGRAD_BUILD_TOOLS=OFF -DCMAKE_CXX_COMPILER_LAUNCHER=${CMAKE_CXX_COMPILER_LAUNCHER})
endif()
