# Tests of tapegrad::io, the matrix file readers and writers. Included from tests/CMakeLists.txt: paths are
# relative to tests/. The tool's handling of the same files is tested by the "cli: bad file ..." and
# "cli: odd file ..." tests (svd/tests.cmake).

# Every format, valid oddities and hostile input, each error checked for its file, line, column and message;
# linked to tapegrad::io alone (the readers need no SVD).
tapegrad_add_test(test_matrix_io io/test_matrix_io.cpp LIBS tapegrad::io)

# What the readers allocate is bounded by the input's bytes, whatever a header says; this executable
# replaces malloc to see the largest allocation (support/count_allocations.hpp), so it is one of its own.
tapegrad_add_test(test_io_alloc io/test_io_alloc.cpp LIBS tapegrad::io)
