// The seed notebooks' SVD loss, built from the ops, against PyTorch's loss and gradients at the
// notebooks' initial values (tests/data/seed/svd/M1..M5), in float32.
#include <catch2/catch.hpp>

#include "tapegrad/autodiff.hpp"
#include "test_data.hpp"

using namespace tapegrad;

namespace {
double max_rel_error(const Matrix<double>& got, const Matrix<double>& want) {
  // Relative to the reference's largest entry: entries near zero are compared at that scale.
  return (got - want).cwiseAbs().maxCoeff() / want.cwiseAbs().maxCoeff();
}
}  // namespace

TEST_CASE("the seed loss and its gradients match PyTorch at the initial values", "[seed]") {
  for (const char* name : {"M1", "M2", "M3", "M4", "M5"}) {
    CAPTURE(name);
    const std::string d = std::string("seed/svd/") + name + "/";
    const Matrix<float> m = test::read_csv(d + "M.csv").cast<float>();
    Parameter<float> u(test::read_csv(d + "U0.csv").cast<float>());
    Parameter<float> ds(test::read_csv(d + "diag_sqrt0.csv").cast<float>());
    Parameter<float> v(test::read_csv(d + "V0.csv").cast<float>());
    const Index n = m.cols();

    // loss = mse(U S Vᵀ, M) + mse(UᵀU, I)/100 + mse(V Vᵀ, I)/100,  S = diag(diag_sqrt²)
    Tape<float> t;
    auto U = t.parameter(u), D = t.parameter(ds), V = t.parameter(v);
    auto I = t.constant(Matrix<float>::Identity(n, n));
    auto S = diag(square(D));
    auto loss = mse(matmul(matmul(U, S), transpose(V)), t.constant(m)) +
                mse(matmul(transpose(U), U), I) / 100.0f + mse(matmul(V, transpose(V)), I) / 100.0f;
    t.backward(loss);

    const double want = test::read_csv(d + "sgd_loss.csv", true)(0, 1);
    CHECK(std::abs(loss.value()(0, 0) - want) <= 1e-5 * want);
    CHECK(max_rel_error(u.grad.cast<double>(), test::read_csv(d + "grad0_U.csv")) <= 1e-5);
    CHECK(max_rel_error(ds.grad.cast<double>(), test::read_csv(d + "grad0_diag_sqrt.csv")) <= 1e-5);
    CHECK(max_rel_error(v.grad.cast<double>(), test::read_csv(d + "grad0_V.csv")) <= 1e-5);
  }
}
