// The hand-written seed gradient (tests/support/seed_gradient.hpp, the benchmarks' floor) against the tape:
// in float64, its loss and gradients equal the tape's for svd::seed_loss (the notebook's formula as written)
// with the graph optimizer on and off, and for the hand-fused graph (bench/hand_fused_seed.hpp), to 1e-12
// relative; after its first call
// it makes no heap allocation. This executable counts malloc calls (count_allocations.hpp).
#include <catch2/catch.hpp>
#include <random>

#include "count_allocations.hpp"
#include "hand_fused_seed.hpp"
#include "seed_gradient.hpp"
#include "tapegrad/svd/loss.hpp"

using namespace tapegrad;

#if defined(__GNUC__)
// OpenBLAS's own thread control (weak: the test links without OpenBLAS too). Its threaded driver allocates
// when it runs a product on several threads (bench/RESULTS.md), so the allocation test runs it on one.
extern "C" void openblas_set_num_threads(int) __attribute__((weak));
#endif

namespace {

// Max abs difference over the reference's max abs entry.
double max_rel_error(const Matrix<double>& got, const Matrix<double>& want) {
  REQUIRE(got.rows() == want.rows());
  REQUIRE(got.cols() == want.cols());
  return (got - want).cwiseAbs().maxCoeff() / want.cwiseAbs().maxCoeff();
}

Matrix<double> uniform(Index r, Index c, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  return Matrix<double>::NullaryExpr(r, c, [&] { return u(rng); });
}

struct Gradients {
  double loss;
  Matrix<double> u, d, v;
};

template <class Record>
Gradients tape_gradients(Parameter<double>& u, Parameter<double>& d, Parameter<double>& v, Record record,
                         bool optimize = true) {
  u.zero_grad();
  d.zero_grad();
  v.zero_grad();
  Tape<double> tape;
  tape.set_graph_optimization(optimize);
  Var<double> loss = record(tape);
  tape.backward(loss);
  return {loss.value()(0, 0), u.grad, d.grad, v.grad};
}

}  // namespace

TEST_CASE("the hand-written seed gradient equals the tape's, as written (optimized or not) and hand-fused",
          "[seed_gradient]") {
  for (auto [m, n] : {std::pair<Index, Index>{5, 4}, {64, 32}, {130, 70}}) {
    CAPTURE(m, n);
    const Matrix<double> M = uniform(m, n, 1), I = Matrix<double>::Identity(n, n);
    Parameter<double> u(uniform(m, n, 2)), d(uniform(1, n, 3)), v(uniform(n, n, 4));

    test::SeedGradient<double> hand;
    Matrix<double> gu = Matrix<double>::Constant(m, n, 7.0), gd = Matrix<double>::Constant(1, n, 7.0),
                   gv = Matrix<double>::Constant(n, n, 7.0);  // overwritten, not accumulated into
    const double loss = hand.loss_and_gradient(u.value, d.value, v.value, M, gu, gd, gv);

    auto literal_loss = [&](Tape<double>& t) { return svd::seed_loss(t, u, d, v, M); };
    const Gradients literal = tape_gradients(u, d, v, literal_loss);
    const Gradients unoptimized = tape_gradients(u, d, v, literal_loss, false);
    const Gradients fused =
        tape_gradients(u, d, v, [&](Tape<double>& t) { return bench::hand_fused_seed_loss(t, u, d, v, M); });

    for (const Gradients* g : {&literal, &unoptimized, &fused}) {
      CAPTURE(g == &literal ? "literal" : g == &unoptimized ? "unoptimized" : "fused");
      CHECK(std::abs(loss - g->loss) <= 1e-12 * std::abs(g->loss));
      CHECK(max_rel_error(gu, g->u) <= 1e-12);
      CHECK(max_rel_error(gd, g->d) <= 1e-12);
      CHECK(max_rel_error(gv, g->v) <= 1e-12);
    }
    // Each of the three terms matters at these values (the check is not passing on the fit term alone).
    CHECK(literal.loss > 0);
  }
}

TEST_CASE("the hand-written seed gradient also accepts d as a column and is right in float",
          "[seed_gradient]") {
  const Index m = 64, n = 32;
  const Matrix<double> M = uniform(m, n, 5);
  Parameter<double> u(uniform(m, n, 6)), d(uniform(n, 1, 7)), v(uniform(n, n, 8));
  const Gradients fused =
      tape_gradients(u, d, v, [&](Tape<double>& t) { return svd::seed_loss(t, u, d, v, M); });

  test::SeedGradient<double> hand;
  Matrix<double> gu(m, n), gd(n, 1), gv(n, n);
  CHECK(std::abs(hand.loss_and_gradient(u.value, d.value, v.value, M, gu, gd, gv) - fused.loss) <=
        1e-12 * fused.loss);
  CHECK(max_rel_error(gd, fused.d) <= 1e-12);

  test::SeedGradient<float> handf;
  Matrix<float> guf(m, n), gdf(n, 1), gvf(n, n);
  const float lf = handf.loss_and_gradient(u.value.cast<float>(), d.value.cast<float>(),
                                           v.value.cast<float>(), M.cast<float>(), guf, gdf, gvf);
  CHECK(std::abs(lf - fused.loss) <= 1e-5 * fused.loss);
  CHECK(max_rel_error(guf.cast<double>(), fused.u) <= 1e-5);
  CHECK(max_rel_error(gdf.cast<double>(), fused.d) <= 1e-5);
  CHECK(max_rel_error(gvf.cast<double>(), fused.v) <= 1e-5);
}

TEMPLATE_TEST_CASE("the hand-written seed gradient allocates nothing after its first call",
                   "[seed_gradient][alloc]", float, double) {
  using T = TestType;
  if (!TAPEGRAD_COUNT_ALLOCATIONS) {
    WARN("allocation counting is off in this build (sanitizer or non-glibc)");
    return;
  }
#if defined(__GNUC__)
  if (openblas_set_num_threads != nullptr) openblas_set_num_threads(1);
#endif
  for (auto [m, n] : {std::pair<Index, Index>{5, 4}, {64, 32}, {256, 128}}) {
    CAPTURE(m, n);
    const Matrix<T> M = uniform(m, n, 1).template cast<T>(), U = uniform(m, n, 2).template cast<T>(),
                    d = uniform(1, n, 3).template cast<T>(), V = uniform(n, n, 4).template cast<T>();
    Matrix<T> gu(m, n), gd(1, n), gv(n, n);
    test::SeedGradient<T> hand;
    hand.loss_and_gradient(U, d, V, M, gu, gd, gv);  // sizes the workspace
    g_allocations = 0;
    g_counting = true;
    for (int k = 0; k < 3; ++k) hand.loss_and_gradient(U, d, V, M, gu, gd, gv);
    g_counting = false;
    CHECK(g_allocations.load() == 0);
  }
}
