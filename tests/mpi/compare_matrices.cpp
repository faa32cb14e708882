// compare_matrices A B TOL: exit 0 when the two matrix files have the same shape and
// max |A - B| <= TOL * max(1, max |A|); otherwise prints the difference and exits 1 (2 on a read error).
// Used by the `mpi: tapegrad-svd ...` tests to compare a run of P processes with a run of one.
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "tapegrad/io/files.hpp"

int main(int argc, char** argv) {
  using namespace tapegrad;
  if (argc != 4) {
    std::fprintf(stderr, "usage: compare_matrices A B TOL\n");
    return 2;
  }
  try {
    const Matrix<double> a = io::read_matrix(argv[1]), b = io::read_matrix(argv[2]);
    const double tol = std::strtod(argv[3], nullptr);
    if (a.rows() != b.rows() || a.cols() != b.cols()) {
      std::fprintf(stderr, "%s is %ldx%ld but %s is %ldx%ld\n", argv[1], long(a.rows()), long(a.cols()),
                   argv[2], long(b.rows()), long(b.cols()));
      return 1;
    }
    const double diff = (a - b).cwiseAbs().maxCoeff(), scale = std::max(1.0, a.cwiseAbs().maxCoeff());
    std::printf("%s vs %s: max |difference| %.3g (tolerance %.3g)\n", argv[1], argv[2], diff, tol * scale);
    return diff <= tol * scale ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "compare_matrices: %s\n", e.what());
    return 2;
  }
}
