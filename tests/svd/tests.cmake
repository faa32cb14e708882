# Tests of tapegrad::svd and tapegrad-svd. Included from tests/CMakeLists.txt: paths are
# relative to tests/.

# The convergence plot (the readers and writers are tested in io/tests.cmake).
tapegrad_add_test(test_svd_plot svd/test_plot.cpp LIBS tapegrad::svd)

# The solver.
tapegrad_add_test(test_svd_solver svd/test_solver.cpp LIBS tapegrad::svd)

# The losses: the auto recipe's expanded (top-k) form against its residual form.
tapegrad_add_test(test_svd_loss svd/test_loss.cpp LIBS tapegrad::svd)

# The hard-matrix set: converged means correct to 1e-10·σ_max; at least 80% converge.
tapegrad_add_test(test_svd_hard svd/test_hard.cpp LIBS tapegrad::svd)

# tapegrad-svd's iterations allocate nothing in steady state (this executable counts malloc calls).
tapegrad_add_test(test_svd_alloc svd/test_svd_alloc.cpp LIBS tapegrad::svd)

# Concurrent SVDs on separate tapes equal sequential ones (scripts/test.sh also runs it under TSan).
find_package(Threads REQUIRED)
tapegrad_add_test(test_threads svd/test_threads.cpp LIBS tapegrad::svd Threads::Threads)

# ------------------------------------------------------------------------------------------------- the CLI
# tapegrad_cli_test(NAME EXIT code REGEX regex ARGS args... [STDIN file] [STDOUT file] [OUT_DIR dir FILES files...]):
# "cli: NAME" runs tapegrad-svd with ARGS and checks the exit code and that stdout+stderr match REGEX.
if(NOT TARGET tapegrad-svd)
  return()
endif()
# The tool's parts on their own: the processes' failure agreement without mpirun, the options' checks.
tapegrad_add_test(test_tool svd/test_tool.cpp LIBS tapegrad_svd_tool)
set(TAPEGRAD_CLI_DATA ${CMAKE_CURRENT_SOURCE_DIR}/data)
function(tapegrad_cli_test name)
  cmake_parse_arguments(A "" "EXIT;REGEX;STDIN;STDOUT;OUT_DIR" "ARGS;FILES" ${ARGN})
  string(JOIN "@@" args ${A_ARGS})
  string(JOIN "@@" files ${A_FILES})
  add_test(NAME "cli: ${name}"
           COMMAND ${CMAKE_COMMAND} "-DEXE=$<TARGET_FILE:tapegrad-svd>" "-DARGS=${args}" "-DEXPECT_EXIT=${A_EXIT}"
                   "-DEXPECT_REGEX=${A_REGEX}" "-DSTDIN=${A_STDIN}" "-DSTDOUT=${A_STDOUT}" "-DOUT_DIR=${A_OUT_DIR}"
                   "-DEXPECT_FILES=${files}" -P ${CMAKE_CURRENT_SOURCE_DIR}/svd/run_cli.cmake)
endfunction()

set(M1 ${TAPEGRAD_CLI_DATA}/seed/svd/M1/M.csv)

# Help and bad usage: exit 0 for --help, 2 for everything else, with a message naming the option.
tapegrad_cli_test("--help documents the exit codes" EXIT 0 REGEX "EXIT CODES.*2  bad usage" ARGS --help)
tapegrad_cli_test("no MATRIX" EXIT 2 REGEX "MATRIX is required" ARGS)
tapegrad_cli_test("unknown flag" EXIT 2 REGEX "--frobnicate" ARGS --frobnicate ${M1})
tapegrad_cli_test("--rank 0" EXIT 2 REGEX "--rank: must be at least 1" ARGS --rank 0 ${M1})
tapegrad_cli_test("--rank above min(m, n)" EXIT 2 REGEX "--rank: 5 is more than min\\(m, n\\) = 4" ARGS --rank 5 ${M1})
tapegrad_cli_test("--rank not a number" EXIT 2 REGEX "--rank: expected a whole number, got '2.5'" ARGS --rank 2.5 ${M1})
tapegrad_cli_test("negative --lr" EXIT 2 REGEX "--lr: must be greater than 0, got -1" ARGS --lr -1 ${M1})
tapegrad_cli_test("--lr=-0.5" EXIT 2 REGEX "--lr: must be greater than 0" ARGS --lr=-0.5 ${M1})
tapegrad_cli_test("--lr not a number" EXIT 2 REGEX "--lr: expected a number, got 'fast'" ARGS --lr fast ${M1})
tapegrad_cli_test("--lr nan" EXIT 2 REGEX "--lr: expected a finite number" ARGS --lr nan ${M1})
tapegrad_cli_test("--lr without value" EXIT 2 REGEX "--lr" ARGS ${M1} --lr)
tapegrad_cli_test("--beta2 1" EXIT 2 REGEX "--beta2: must be in .0, 1., got 1" ARGS --beta2 1 ${M1})
tapegrad_cli_test("negative --momentum" EXIT 2 REGEX "--momentum: must be >= 0" ARGS --momentum -0.1 ${M1})
tapegrad_cli_test("--tol 0" EXIT 2 REGEX "--tol: must be greater than 0" ARGS --tol 0 ${M1})
tapegrad_cli_test("--iters 0" EXIT 2 REGEX "--iters: must be at least 1" ARGS --iters 0 ${M1})
tapegrad_cli_test("--iters 1e999" EXIT 2 REGEX "--iters: expected a whole number" ARGS --iters 1e999 ${M1})
tapegrad_cli_test("--seed negative" EXIT 2 REGEX "--seed: expected a whole number" ARGS --seed -3 ${M1})
tapegrad_cli_test("--threads 0" EXIT 2 REGEX "--threads: must be from 1 to 1024" ARGS --threads 0 ${M1})
tapegrad_cli_test("unknown optimizer" EXIT 2 REGEX "--optimizer: unknown optimizer 'rmsprop'" ARGS --optimizer rmsprop ${M1})
tapegrad_cli_test("unknown dtype" EXIT 2 REGEX "--dtype: unknown dtype 'float16'" ARGS --dtype float16 ${M1})
tapegrad_cli_test("unknown recipe" EXIT 2 REGEX "--recipe: unknown recipe 'magic'" ARGS --recipe magic ${M1})
tapegrad_cli_test("--init-dir without the seed recipe" EXIT 2 REGEX "--init-dir: .*--recipe seed"
                  ARGS --init-dir ${TAPEGRAD_CLI_DATA}/seed/svd/M1 ${M1})
tapegrad_cli_test("--init-dir with wrong shapes" EXIT 2 REGEX "--init-dir: .*M2.U0.csv is 4x4, but the matrix is 5x4"
                  ARGS --recipe seed --init-dir ${TAPEGRAD_CLI_DATA}/seed/svd/M2 ${M1})
tapegrad_cli_test("--init-dir missing" EXIT 2 REGEX "nowhere.U0.csv: cannot open"
                  ARGS --recipe seed --init-dir ${CMAKE_CURRENT_BINARY_DIR}/nowhere ${M1})
tapegrad_cli_test("--out is a file" EXIT 2 REGEX "--out: " ARGS --out ${M1} ${M1})
tapegrad_cli_test("--lr 1e20 with L-BFGS: the first step is named, not the matrix" EXIT 1
                  REGEX "first step, of length lr = 1e\\+20.*try a smaller --lr" ARGS --lr 1e20 ${M1})
# Initial values that overflow the dtype: the start is named, not the learning rate (the error bound is unknown).
file(MAKE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/huge_init)
foreach(f U0 diag_sqrt0 V0)
  file(READ ${TAPEGRAD_CLI_DATA}/seed/svd/M1/${f}.csv text)
  string(REGEX REPLACE "([0-9])(,|\n)" "\\1e200\\2" text "${text}")
  file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/huge_init/${f}.csv "${text}")
endforeach()
tapegrad_cli_test("seed: initial values beyond float32 are named, not the learning rate" EXIT 3
                  REGEX "\"error_bound\":null.*diverged at the start: the loss at the initial values is (infinite|NaN) in float32: the initial values .--init-dir. or the matrix are too large"
                  ARGS --json --recipe seed --init-dir ${CMAKE_CURRENT_BINARY_DIR}/huge_init ${M1})
tapegrad_cli_test("solver option error" EXIT 2 REGEX "--nesterov" ARGS --recipe seed --optimizer adam --nesterov ${M1})
tapegrad_cli_test("missing file" EXIT 2 REGEX "no-such.csv: cannot open: No such file or directory"
                  ARGS ${TAPEGRAD_CLI_DATA}/no-such.csv)
tapegrad_cli_test("a directory" EXIT 2 REGEX "it is a directory" ARGS ${TAPEGRAD_CLI_DATA})
tapegrad_cli_test("empty stdin" EXIT 2 REGEX "<stdin>:1:1: the file is empty" ARGS - STDIN ${TAPEGRAD_CLI_DATA}/bad/empty.csv)
tapegrad_cli_test("binary stdin" EXIT 2 REGEX "<stdin>:1:5: binary data .a NUL byte." ARGS - STDIN ${TAPEGRAD_CLI_DATA}/bad/binary.csv)

# Malformed files: exit 2, FILE:LINE:COL and what is wrong.
foreach(case
    "ragged.csv|3:4: this row has 2 values; line 1 has 3"
    "ragged_long.csv|2:5: this row has more than 2 values"
    "not_a_number.csv|2:3: expected a number, found 'abc'"
    "header_row.csv|1:1: .*a header row"
    "trailing_garbage.csv|2:4: unexpected 'x' after the number '4'"
    "empty.csv|1:1: the file is empty"
    "comments_only.csv|3:1: no numbers: the file has only blank lines and comments"
    "nan.csv|2:1: 'NaN' is not allowed: NaN and infinite values make an SVD meaningless"
    "inf.csv|1:3: 'inf' is not allowed"
    "overflow.csv|2:3: the number '1e999' overflows a double"
    "empty_field.csv|1:3: empty field"
    "mixed_separators.csv|2:2: this row separates values with spaces, but line 1 uses commas"
    "binary.csv|1:1: expected a number, found .*binary data"
    "long_line.csv|1:200001: expected a number, found 'x'"
    "utf16.csv|1:1: the file is UTF-16 encoded"
    "pattern.mtx|1:34: 'pattern' matrices are not supported"
    "complex.mtx|1:34: 'complex' matrices are not supported"
    "no_banner.mtx|1:1: not a Matrix Market file"
    "lying_size.mtx|2:1: the size line declares 1000000 entries, but only 6 bytes follow"
    "huge_size.mtx|2:1: the declared size 100000000x100000000 is more than the limit"
    "sparse_lie.mtx|2:1: the declared size 8192x8192 is more than a coordinate file of 64 bytes may declare"
    "out_of_range.mtx|4:1: row index 4 is out of range 1..3"
    "truncated.mtx|5:5: the file ends after 3 of the 4 entries"
    "symmetric_upper.mtx|3:1: entry \\(1, 2\\) is above the diagonal"
    "nan.mtx|4:1: 'nan' is not allowed"
    "not_npy.npy|1:1: not a .npy file"
    "int64.npy|1:21: unsupported dtype '<i8'"
    "complex.npy|1:21: unsupported dtype '<c16'"
    "lying_shape.npy|1:145: the header declares shape 1000x1000 float64 \\(8000000 bytes\\) but only 16 bytes"
    "huge_shape.npy|1:61: the declared shape 4000000000x4000000000 is more than the limit"
    "truncated.npy|1:153: .*only 24 bytes of data follow"
    "header_len.npy|1:9: the .npy header length \\(65535 bytes\\) is larger than the rest of the file"
    "bad_header.npy|1:45: bad .npy header: 'fortran_order' must be True or False"
    "three_d.npy|1:61: the array has 3 dimensions"
    "nan.npy|1:137: the value at row 2, column 1 is NaN")
  string(FIND "${case}" "|" bar)
  string(SUBSTRING "${case}" 0 ${bar} file)
  math(EXPR rest "${bar} + 1")
  string(SUBSTRING "${case}" ${rest} -1 expected)
  tapegrad_cli_test("bad file ${file}" EXIT 2 REGEX "bad/${file}:${expected}" ARGS ${TAPEGRAD_CLI_DATA}/bad/${file})
endforeach()

# Valid oddities parse (a few cheap seed-recipe iterations, so not converged: exit 1; the shape shows they
# were read right).
foreach(case
    "bom_crlf_comments.csv|3,2" "whitespace.csv|3,2" "symmetric.mtx|3,3" "array_integer.mtx|3,2"
    "fortran.npy|3,2" "float32_v2.npy|3,2" "big_endian.npy|3,2")
  string(REPLACE "|" ";" parts "${case}")
  list(GET parts 0 file)
  list(GET parts 1 shape)
  tapegrad_cli_test("odd file ${file}" EXIT 1 REGEX "\"converged\":false,.*\"shape\":\\[${shape}\\]"
                    ARGS --recipe seed --lr 1e-4 --iters 3 --json --quiet ${TAPEGRAD_CLI_DATA}/odd/${file})
endforeach()
tapegrad_cli_test("CSV from stdin" EXIT 1 REGEX "\"converged\":false,.*\"shape\":\\[3,2\\]"
                  ARGS --recipe seed --lr 1e-4 --iters 3 --json - STDIN ${TAPEGRAD_CLI_DATA}/odd/whitespace.csv)

# Runs: the seed demo from the notebooks' start, with every output file; divergence exits 3.
tapegrad_cli_test("seed M1 from the notebooks' initial values, --json" EXIT 0
                  REGEX "\"singular_values\":\\[2\\.33[0-9]*,0\\.687[0-9]*,0\\.259[0-9]*,0\\.117[0-9]*\\],\"iterations\":20000,\"converged\":true,.*\"recipe\":\"seed\",\"optimizer\":\"sgd\",\"dtype\":\"float32\",\"shape\":\\[5,4\\],\"rank\":4}"
                  ARGS --recipe seed --init-dir ${TAPEGRAD_CLI_DATA}/seed/svd/M1 --json ${M1})
tapegrad_cli_test("--out writes every result file atomically" EXIT 0 REGEX "singular values: 2\\.33"
                  ARGS --recipe seed --init-dir ${TAPEGRAD_CLI_DATA}/seed/svd/M1 --out ${CMAKE_CURRENT_BINARY_DIR}/cli-out ${M1}
                  OUT_DIR ${CMAKE_CURRENT_BINARY_DIR}/cli-out
                  FILES U.csv singular_values.csv V.csv loss.csv convergence.svg)
tapegrad_cli_test("divergence exits 3 and says what to try" EXIT 3 REGEX "diverged.*smaller --lr"
                  ARGS --recipe seed --lr 100 ${M1})

# The auto recipe: converged (0), not converged within --iters (1, results still written), top-k of a wide matrix.
set(M3 ${TAPEGRAD_CLI_DATA}/seed/svd/M3/M.csv)
tapegrad_cli_test("auto M3 converges" EXIT 0 REGEX "\"converged\":true,.*\"recipe\":\"auto\",.*\"dtype\":\"float64\",\"shape\":\\[7,4\\],\"rank\":4}"
                  ARGS --json ${M3})
tapegrad_cli_test("auto not converged exits 1 and still writes the results" EXIT 1 REGEX "not converged"
                  ARGS --iters 5 --out ${CMAKE_CURRENT_BINARY_DIR}/cli-out-nc ${M3}
                  OUT_DIR ${CMAKE_CURRENT_BINARY_DIR}/cli-out-nc
                  FILES U.csv singular_values.csv V.csv loss.csv convergence.svg)
tapegrad_cli_test("auto top-k of a wide matrix" EXIT 0 REGEX "\"shape\":\\[4,9\\],\"rank\":2}"
                  ARGS --rank 2 --json --threads 1 ${TAPEGRAD_CLI_DATA}/svd/wide_4x9/M.csv)

# Without MPI, a tapegrad-svd started as one of several processes refuses instead of computing P copies
# (with MPI, tests/mpi runs it through mpirun).
if(NOT TARGET tapegrad_mpi)
  tapegrad_cli_test("built without MPI, under mpirun" EXIT 2 REGEX "built without MPI" ARGS ${M1})
  set_tests_properties("cli: built without MPI, under mpirun" PROPERTIES ENVIRONMENT "OMPI_COMM_WORLD_SIZE=2")
endif()

# --profile: the per-op table of the loss graph as it runs (fused ops, in order of time), then the
# solve as usual; with --json the table goes to stderr (after stdout's JSON in the checked output).
tapegrad_cli_test("--profile names the ops that run" EXIT 0
                  REGEX "seed loss, 5x4, float32, 20 steps.*op +calls fwd.*GFLOP/s.*matmul_nt = matmul\\(A, transpose\\(B\\)\\).*20 steps timed.*singular values"
                  ARGS --profile --recipe seed ${M1})
tapegrad_cli_test("--profile with --json keeps stdout JSON" EXIT 0
                  REGEX "^\\{\"singular_values\":.*\"converged\":true.*auto loss, 7x4, float64.*sum_squared_difference = sum\\(square\\(a - b\\)\\)"
                  ARGS --profile --json ${M3})
# ------------------------------------------------------------------------------- scale, accuracy
# Any finite scale: the norm is taken as max|m_ij| × ‖M / max|m_ij|‖ (no overflow, no underflow); a matrix whose
# norm is beyond the largest double is refused. The values are numpy's: 5.46498570421904e±k, 3.65966190626258e±k.
set(SCALE ${TAPEGRAD_CLI_DATA}/svd/scale)
foreach(case "e154|e\\+154|e\\+153" "e300|e\\+300|e\\+299" "e-300|e-300|e-301")
  string(REPLACE "|" ";" parts "${case}")
  list(GET parts 0 file)
  list(GET parts 1 e1)
  list(GET parts 2 e2)
  tapegrad_cli_test("scale ${file}: right singular values, converged"
                    EXIT 0 REGEX "\"singular_values\":\\[5\\.4649857042[0-9]*${e1},3\\.6596619062[0-9]*${e2}\\],.*\"converged\":true,.*\"reconstruction_error\":[0-9]"
                    ARGS --json ${SCALE}/${file}.csv)
endforeach()
tapegrad_cli_test("scale: a norm beyond the largest double is refused" EXIT 2
                  REGEX "Frobenius norm .* is beyond the largest double" ARGS --json ${SCALE}/e308.csv)
# converged means what it says: Hilbert 10x10 (sigma down to 1e-13) converges with its values within the error
# bound (every value of the hard set is checked against the exact ones in test_hard.cpp; numpy's leading two are
# 1.7519196702651774, 0.34292954848351); the seed recipe's fixed count meets the test only when it holds.
tapegrad_cli_test("Hilbert 10x10: converged, right leading values" EXIT 0
                  REGEX "\"singular_values\":.1\\.75191967026[0-9]*,0\\.3429295484[0-9]*,.*\"converged\":true"
                  ARGS --json ${SCALE}/hilbert10.npy)
tapegrad_cli_test("seed --iters 10: not converged, exit 1" EXIT 1 REGEX "\"converged\":false.*ran the seed recipe's 10 iterations .sgd.: not converged, error bound"
                  ARGS --json --recipe seed --iters 10 ${M1})
tapegrad_cli_test("seed --nesterov 2000: not converged, exit 1" EXIT 1 REGEX "\"converged\":false.*not converged, error bound"
                  ARGS --json --recipe seed --nesterov --iters 2000 ${M1})

# ------------------------------------------------------------------------------- faults
# Write errors on stdout are errors (exit 2, a message), for the JSON and for the summary.
if(EXISTS /dev/full)
  tapegrad_cli_test("--json > /dev/full: exit 2, a message" EXIT 2 REGEX "stdout: write failed: No space left on device"
                    ARGS --json ${M1} STDOUT /dev/full)
  tapegrad_cli_test("summary > /dev/full: exit 2, a message" EXIT 2 REGEX "stdout: write failed"
                    ARGS ${M1} STDOUT /dev/full)
endif()
# --threads beyond the machine's cores is capped, with a note (1024 is the usage limit; no machine here has more).
tapegrad_cli_test("--threads 1024: capped to the cores" EXIT 0 REGEX "--threads 1024 is more than the [0-9]+ cores of this machine; using [0-9]+"
                  ARGS --threads 1024 --json ${M1})
# --out is replaced as one unit (docs/bad-inputs.md, "Faults and signals").
foreach(case fail signal lock stale nothing)
  add_test(NAME "cli: --out fault: ${case}"
           COMMAND ${CMAKE_COMMAND} "-DEXE=$<TARGET_FILE:tapegrad-svd>" -DM1=${M1}
                   "-DWORK=${CMAKE_CURRENT_BINARY_DIR}/cli-fault-${case}" -DCASE=${case}
                   -P ${CMAKE_CURRENT_SOURCE_DIR}/svd/run_faults.cmake)
endforeach()
set(FAULT_DIR ${CMAKE_CURRENT_BINARY_DIR}/cli-paths)
file(MAKE_DIRECTORY ${FAULT_DIR})
file(WRITE ${FAULT_DIR}/mine.txt "not a result\n")
set(LINK_DIR ${CMAKE_CURRENT_BINARY_DIR}/cli-links)
file(MAKE_DIRECTORY ${LINK_DIR}/real)
file(WRITE ${LINK_DIR}/target.dot "kept\n")
file(CREATE_LINK ${LINK_DIR}/target.dot ${LINK_DIR}/link.dot SYMBOLIC)
file(CREATE_LINK ${LINK_DIR}/real ${LINK_DIR}/linkdir SYMBOLIC)
tapegrad_cli_test("--graph is the input" EXIT 2 REGEX "--graph: .* is the input matrix" ARGS --graph ${M1} ${M1})
tapegrad_cli_test("--graph a device" EXIT 2 REGEX "--graph: '/dev/null' exists and is not a regular file .a device"
                  ARGS --graph /dev/null ${M1})
tapegrad_cli_test("--graph a symlink" EXIT 2 REGEX "--graph: .* exists and is not a regular file .a symbolic link"
                  ARGS --graph ${LINK_DIR}/link.dot ${M1})
tapegrad_cli_test("--graph - is stdout" EXIT 0 REGEX "^digraph tape" ARGS --graph - --quiet --json ${M1})
tapegrad_cli_test("--graph inside --out" EXIT 2 REGEX "--graph: .* is inside --out"
                  ARGS --graph ${FAULT_DIR}/g.dot --out ${FAULT_DIR} ${M1})
tapegrad_cli_test("--out holding other files" EXIT 2 REGEX "--out: .* holds 'mine.txt', which is not a tapegrad-svd result"
                  ARGS --out ${FAULT_DIR} ${M1})
tapegrad_cli_test("--out holding the input" EXIT 2 REGEX "--out: .* holds the input matrix"
                  ARGS --out ${TAPEGRAD_CLI_DATA}/seed/svd/M1 ${M1})
tapegrad_cli_test("--out a symlink" EXIT 2 REGEX "--out: .* is a symbolic link" ARGS --out ${LINK_DIR}/linkdir ${M1})
tapegrad_cli_test("--iters 8e18: the limit, named" EXIT 2 REGEX "--iters: at most 1000000000 .the limit"
                  ARGS --recipe seed --iters 8e18 --out ${CMAKE_CURRENT_BINARY_DIR}/cli-iters ${M1})
# The run's memory is checked against a limit before the solver allocates (docs/bad-inputs.md, "Memory").
tapegrad_cli_test("--max-memory below the run's need: exit 2 naming it" EXIT 2
                  REGEX "--max-memory: the run needs about [0-9.]+ KiB for the 5x4 matrix, more than the limit of 864 bytes .--max-memory, 1.0 KiB, less the matrix.s own 160 bytes."
                  ARGS --max-memory 1K --json ${M1})
tapegrad_cli_test("--max-memory above the run's need" EXIT 0 REGEX "\"converged\":true" ARGS --max-memory 1G --json ${M1})
tapegrad_cli_test("--max-memory not a size" EXIT 2 REGEX "--max-memory: expected a size in bytes .or with K, M, G, T., got '12Q'"
                  ARGS --max-memory 12Q ${M1})
# A thin matrix (1x3000000, 6 MB of CSV) whose full SVD needs ~1 GB, under ulimit -v 800 MB: refused up front,
# naming the limit (it used to run out of memory part-way).
set(THIN_CSV ${CMAKE_CURRENT_BINARY_DIR}/cli-thin-1x3000000.csv)
if(NOT EXISTS ${THIN_CSV})
  string(REPEAT "1," 2999999 thin_row)
  file(WRITE ${THIN_CSV} "${thin_row}2\n")
endif()
# (Not under the sanitizers: AddressSanitizer's shadow memory needs far more address space than ulimit -v gives.)
if(NOT TAPEGRAD_SANITIZE)
add_test(NAME "cli: ulimit -v below a thin matrix's need: exit 2 naming the limit"
         COMMAND sh -c "ulimit -v 800000 && \"$0\" --json \"$1\"; echo \"exit $?\"" $<TARGET_FILE:tapegrad-svd> ${THIN_CSV})
set_tests_properties("cli: ulimit -v below a thin matrix's need: exit 2 naming the limit" PROPERTIES
                     PASS_REGULAR_EXPRESSION "needs about [0-9.]+ [MG]iB for the 1x3000000 matrix.*the address-space limit, ulimit -v.*exit 2")
endif()
