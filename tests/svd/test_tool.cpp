// tapegrad-svd's parts on their own (svd/tool/): the processes' agreement on failures, simulated for P
// processes without mpirun, the launcher read from the environment, and the options' checks.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "errors.hpp"
#include "launcher.hpp"
#include "options.hpp"
#include "processes.hpp"

using namespace tapegrad::svd::tool;

namespace {

// What each of `size` processes concludes when process r failed with codes[r] (0: it did not fail): the
// protocol of Processes::settle, with the maximum that MPI_Allreduce would take.
std::vector<Verdict> agree(const std::vector<int>& codes) {
  const int size = static_cast<int>(codes.size());
  double max_vote = 0;
  for (int r = 0; r < size; ++r) {
    std::optional<Failure> mine;
    if (codes[r] != 0) mine = Failure{codes[r], "failed"};
    max_vote = std::max(max_vote, failure_vote(r, size, mine));
  }
  std::vector<Verdict> out;
  for (int r = 0; r < size; ++r) out.push_back(read_votes(max_vote, r, size));
  return out;
}

}  // namespace

TEST_CASE("tool: processes agree on the lowest failing rank's code, and only it reports", "[tool]") {
  for (int size = 1; size <= 5; ++size) {
    // Every pattern of failures over the processes, with codes 2, 3 and 4 by rank.
    for (int mask = 0; mask < (1 << size); ++mask) {
      std::vector<int> codes(size, 0);
      for (int r = 0; r < size; ++r)
        if (mask & (1 << r)) codes[r] = kExitUsage + (r % 3);
      CAPTURE(size, mask);
      const auto verdicts = agree(codes);
      int lowest = -1;
      for (int r = 0; r < size && lowest < 0; ++r)
        if (codes[r] != 0) lowest = r;
      int reporters = 0;
      for (int r = 0; r < size; ++r) {
        CHECK(verdicts[r].code == (lowest < 0 ? 0 : codes[lowest]));
        if (verdicts[r].report) {
          ++reporters;
          CHECK(r == lowest);
        }
      }
      CHECK(reporters == (lowest < 0 ? 0 : 1));
    }
  }
}

TEST_CASE("tool: the agreement holds for every exit code and many processes", "[tool]") {
  for (int code : {kExitNotConverged, kExitUsage, kExitDiverged, kExitInternal}) {
    std::vector<int> codes(1000, 0);
    codes[999] = code;
    codes[517] = code;
    const auto v = agree(codes);
    CHECK(v[0].code == code);
    CHECK(v[517].report);
    CHECK_FALSE(v[999].report);
  }
}

TEST_CASE("tool: a launch by mpirun is read from its environment variables, without MPI", "[tool]") {
  const char* names[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS",
                         "OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK"};
  std::vector<std::optional<std::string>> saved;
  for (const char* n : names) {
    const char* v = std::getenv(n);
    saved.push_back(v ? std::optional<std::string>(v) : std::nullopt);
    unsetenv(n);
  }
  CHECK_FALSE(launched_with_several_processes());
  CHECK(launched_rank() == 0);
  setenv("OMPI_COMM_WORLD_SIZE", "1", 1);  // mpirun -np 1: one process
  CHECK_FALSE(launched_with_several_processes());
  setenv("OMPI_COMM_WORLD_SIZE", "3", 1);  // Open MPI
  setenv("OMPI_COMM_WORLD_RANK", "2", 1);
  CHECK(launched_with_several_processes());
  CHECK(launched_rank() == 2);
  unsetenv("OMPI_COMM_WORLD_SIZE");
  unsetenv("OMPI_COMM_WORLD_RANK");
  setenv("PMI_SIZE", "2", 1);  // MPICH, Slurm's srun
  setenv("PMI_RANK", "1", 1);
  CHECK(launched_with_several_processes());
  CHECK(launched_rank() == 1);
  for (std::size_t i = 0; i < saved.size(); ++i) {
    if (saved[i]) {
      setenv(names[i], saved[i]->c_str(), 1);
    } else {
      unsetenv(names[i]);
    }
  }
}

namespace {

// Parses args (after the program name) into c; returns the parsed app's check of empty values.
void parse(Cli& c, std::vector<std::string> args) {
  CLI::App app;
  add_options(app, c);
  std::vector<const char*> argv{"tapegrad-svd"};
  for (const auto& a : args) argv.push_back(a.c_str());
  app.parse(static_cast<int>(argv.size()), argv.data());
  check_values_given(app);
}

std::string usage_message(Cli& c, std::vector<std::string> args) {
  try {
    parse(c, std::move(args));
    (void)to_options(c);
  } catch (...) {
    return current_failure().message;  // as the tool prints it
  }
  return "";
}

}  // namespace

TEST_CASE("tool: an option given an empty value is an error naming it, not its default", "[tool]") {
  for (const char* opt : {"--rank", "--lr", "--out", "--iters", "--seed", "--recipe", "--dtype"}) {
    Cli c;
    CAPTURE(opt);
    const std::string m = usage_message(c, {opt, "", "M.csv"});
    CHECK(m.find(std::string(opt) + ": the value is empty") != std::string::npos);
  }
  Cli c;
  CHECK(usage_message(c, {"", "--json"}).find("MATRIX: the value is empty") != std::string::npos);
  Cli ok;
  CHECK(usage_message(ok, {"--json", "--quiet", "--rank", "2", "M.csv"}).empty());
}

TEST_CASE("tool: option values are checked with a message naming the option", "[tool]") {
  Cli c;
  CHECK(usage_message(c, {"--lr", "-1", "M.csv"}) == "--lr: must be greater than 0, got -1");
  Cli d;
  CHECK(usage_message(d, {"--iters", "2.5", "M.csv"}) == "--iters: expected a whole number, got '2.5'");
  Cli e;
  CHECK(usage_message(e, {"--recipe", "fast", "M.csv"}).find("unknown recipe 'fast'") != std::string::npos);
  // The library's rules, its fields named as options.
  Cli f;
  CHECK(usage_message(f, {"--iters", "0", "M.csv"}) == "--iters: must be at least 1, got 0");
  Cli g;
  CHECK(usage_message(g, {"--weight-decay", "-2", "M.csv"}) == "--weight-decay: must be >= 0, got -2");
  Cli h;
  CHECK(usage_message(h, {"--optimizer", "adam", "--nesterov", "M.csv"}).rfind("--nesterov: ", 0) == 0);
}

TEST_CASE("tool: every SvdOptions field an error can name has its option", "[tool]") {
  for (const char* field : {"lr", "momentum", "dampening", "weight_decay", "beta1", "beta2", "eps",
                            "nesterov", "amsgrad", "iterations", "tolerance", "rank", "init", "recipe"}) {
    CAPTURE(field);
    CHECK(option_of_field(field).rfind("--", 0) == 0);
  }
  CHECK(option_of_field("iterations") == "--iters");
  CHECK(option_of_field("weight_decay") == "--weight-decay");
}
