# Tests of tapegrad::io, the matrix file readers and writers. Included from tests/CMakeLists.txt: paths are
# relative to tests/. The tool's handling of the same files is tested by the "cli: bad file ..." and
# "cli: odd file ..." tests (svd/tests.cmake).

# Every format, valid oddities and hostile input, each error checked for its file, line, column and message;
# linked to tapegrad::io alone (the readers need no SVD).
tapegrad_add_test(test_matrix_io io/test_matrix_io.cpp LIBS tapegrad::io)
