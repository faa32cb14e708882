// Threads: separate tapes in separate threads are safe. Several SVDs trained concurrently, each in
// its own std::thread with its own tape, optimizer and parameters, give bit-identical results to the same
// runs done one after another. CI also runs this test under ThreadSanitizer (the tsan preset).
#include <catch2/catch.hpp>

#include <exception>
#include <string>
#include <thread>
#include <vector>

#include "tapegrad/svd/solver.hpp"
#include "test_data.hpp"

using namespace tapegrad;
using namespace tapegrad::svd;

namespace {

struct Job {
  std::string name;
  Matrix<double> m;
  SvdOptions options;
};

std::vector<Job> jobs() {
  std::vector<Job> out;
  // The auto recipe (float64, L-BFGS) on a few of the generated matrices: tall, wide, square, close singular
  // values, rank deficient, and a top-k run.
  for (const char* name : {"tall_8x5", "wide_4x9", "square_6x6", "close_sv_6x4", "rank_deficient_7x5"})
    out.push_back({std::string("auto ") + name, test::read_csv(std::string("svd/") + name + "/M.csv"), {}});
  SvdOptions top2;
  top2.rank = 2;
  out.push_back({"auto wide_4x9 rank 2", test::read_csv("svd/wide_4x9/M.csv"), top2});
  // The seed recipe (float32, SGD with momentum, 20,000 iterations) from the notebooks' initial values, and
  // from a random start with Adam.
  const std::string dir = "seed/svd/M1/";
  SvdOptions seed;
  seed.recipe = Recipe::Seed;
  seed.init = SeedInit{test::read_csv(dir + "U0.csv"), test::read_csv(dir + "diag_sqrt0.csv"),
                       test::read_csv(dir + "V0.csv")};
  out.push_back({"seed M1 sgd", test::read_csv(dir + "M.csv"), seed});
  SvdOptions seed_adam;
  seed_adam.recipe = Recipe::Seed;
  seed_adam.optimizer = OptimizerKind::Adam;
  seed_adam.iterations = 5000;
  seed_adam.seed = 7;
  out.push_back({"seed M2 adam random start", test::read_csv("seed/svd/M2/M.csv"), seed_adam});
  return out;
}

// Bit-identical: exact equality of every value (no tolerance), of the loss history and of how the run ended.
void require_identical(const SvdResult& a, const SvdResult& b) {
  REQUIRE(a.status == b.status);
  REQUIRE(a.iterations == b.iterations);
  REQUIRE(a.method == b.method);
  REQUIRE(a.rank == b.rank);
  REQUIRE(a.U.rows() == b.U.rows());
  REQUIRE(a.U.cols() == b.U.cols());
  REQUIRE(a.V.rows() == b.V.rows());
  REQUIRE(a.V.cols() == b.V.cols());
  REQUIRE(a.singular_values.size() == b.singular_values.size());
  CHECK(a.U == b.U);
  CHECK(a.V == b.V);
  CHECK(a.singular_values == b.singular_values);
  CHECK(a.loss_history == b.loss_history);
  CHECK(a.final_loss == b.final_loss);
  CHECK(a.reconstruction_error == b.reconstruction_error);
  CHECK(a.orthogonality_error == b.orthogonality_error);
}

}  // namespace

TEST_CASE("SVDs trained concurrently on separate tapes equal the same runs done sequentially",
          "[svd][threads]") {
  const std::vector<Job> js = jobs();
  std::vector<SvdResult> sequential;
  for (const Job& j : js) sequential.push_back(solve(j.m, j.options));

  // Every job twice at once (two threads on the same input matrix, read-only), all jobs concurrently.
  const std::size_t copies = 2;
  std::vector<SvdResult> concurrent(js.size() * copies);
  std::vector<std::exception_ptr> errors(concurrent.size());
  {
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < concurrent.size(); ++t) {
      threads.emplace_back([&, t] {
        try {
          const Job& j = js[t % js.size()];
          concurrent[t] = solve(j.m, j.options);
        } catch (...) {
          errors[t] = std::current_exception();
        }
      });
    }
    for (auto& th : threads) th.join();
  }
  for (std::size_t t = 0; t < concurrent.size(); ++t) {
    const std::size_t i = t % js.size();
    CAPTURE(js[i].name, t);
    if (errors[t]) std::rethrow_exception(errors[t]);
    // Every run ends normally: converged, or (seed) its fixed count run without meeting the accuracy test.
    CHECK((sequential[i].converged() ||
           (sequential[i].recipe == Recipe::Seed && sequential[i].status == Status::Completed)));
    require_identical(sequential[i], concurrent[t]);
  }
}
