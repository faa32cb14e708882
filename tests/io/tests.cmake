# Tests of tapegrad::io, the matrix file readers and writers. Included from tests/CMakeLists.txt: paths are
# relative to tests/. The tool's handling of the same files is tested by the "cli: bad file ..." and
# "cli: odd file ..." tests (svd/tests.cmake).

# Every format, valid oddities and hostile input, each error checked for its file, line, column and message;
# linked to tapegrad::io alone (the readers need no SVD). One file per format, then files by path and writing,
# then blocks of rows; the shared checks are in io/matrix_io_check.hpp.
tapegrad_add_test(test_matrix_io
  io/test_matrix_io_csv.cpp
  io/test_matrix_io_mtx.cpp
  io/test_matrix_io_npy.cpp
  io/test_matrix_io_files.cpp
  io/test_matrix_io_row_blocks.cpp
  LIBS tapegrad::io)

# What the readers allocate is bounded by the input's bytes, whatever a header says; this executable
# replaces malloc to see the largest allocation (support/count_allocations.hpp), so it is one of its own.
tapegrad_add_test(test_io_alloc io/test_io_alloc.cpp LIBS tapegrad::io)
