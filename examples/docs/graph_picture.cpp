// docs/writing-a-loss.md, "Seeing the graph": the seed SVD loss of a 5x4 matrix as a Graphviz DOT file.
// Usage: example_docs_graph_picture OUT.dot    then    dot -Tsvg OUT.dot -o graph.svg
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

  std::ostringstream dot;
  write_dot(tape, dot, loss, {.title = "seed loss, M 5x4"});
  std::ofstream(argv[1]) << dot.str();

  // Three parameters, the matrix product U diag(d²) Vᵀ, three mse terms.
  const std::string s = dot.str();
  const bool ok = s.find("parameter") != std::string::npos && s.find("scale_columns") != std::string::npos &&
                  s.find("gram") != std::string::npos && s.find("mse") != std::string::npos;
  return ok ? 0 : 1;
}
