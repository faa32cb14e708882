// docs/writing-a-loss.md, "Seeing the graph": the seed SVD loss of a 5x4 matrix as a Graphviz DOT file.
// Usage: example_docs_graph_picture OUT.dot (also writes OUT.dot.run.dot)   then   dot -Tsvg OUT.dot -o
// graph.svg
#include <fstream>
#include <sstream>

#include "tapegrad/autodiff.hpp"
#include "tapegrad/svd/loss.hpp"

using namespace tapegrad;

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  // Any values of the right shapes will do: the graph depends only on the shapes.
  Parameter<float> u(Matrix<float>::Random(5, 4), "U"), d(Matrix<float>::Random(1, 4), "diag_sqrt");
  Parameter<float> v(Matrix<float>::Random(4, 4), "V");
  const Matrix<float> m = Matrix<float>::Random(5, 4);
  Tape<float> tape;
  Var<float> loss = svd::seed_loss(tape, u, d, v, m);

  // The graph as written (the notebook's matmul, transpose, diag, square, mean), and as it runs after the
  // graph optimizer's rewrites (scale_columns, matmul_nt, crossprod, tcrossprod, mse).
  std::ostringstream written, runs;
  write_dot(tape, written, loss, {.title = "seed loss, M 5x4, as written"});
  write_dot(tape, runs, loss, {.title = "seed loss, M 5x4, as it runs", .as_run = true});
  std::ofstream(argv[1]) << written.str();
  std::ofstream(std::string(argv[1]) + ".run.dot") << runs.str();

  auto has = [](const std::string& s, const char* what) { return s.find(what) != std::string::npos; };
  const std::string w = written.str(), r = runs.str();
  const bool ok = has(w, "transpose") && has(w, "\"diag ") && has(w, "\"mean ") && !has(w, "scale_columns") &&
                  has(r, "scale_columns") && has(r, "matmul_nt") && has(r, "tcrossprod") && has(r, "mse") &&
                  !has(r, "\"transpose");
  return ok ? 0 : 1;
}
