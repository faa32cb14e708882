// The profiler (tapegrad/autodiff/profiler.hpp): per-op FLOP counts against hand counts, per-op times
// against the measured step time on the seed loss, the Chrome trace's format, the summary table.
#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tapegrad/autodiff.hpp"
#include "tapegrad/svd/loss.hpp"

using namespace tapegrad;

namespace {

Matrix<double> positive(Index r, Index c, unsigned seed) {
  std::srand(seed);
  return (Matrix<double>::Random(r, c).array() + 2.0).matrix();  // in [1, 3]: log, sqrt, div are defined
}

// The events of node i, forward and backward.
std::pair<std::vector<ProfileEvent>, std::vector<ProfileEvent>> events_of(const Profiler& p,
                                                                          std::uint32_t i) {
  std::vector<ProfileEvent> f, b;
  for (const auto& e : p.events()) {
    if (e.node != i) continue;
    (e.phase == ProfilePhase::forward ? f : b).push_back(e);
  }
  return {f, b};
}

struct Case {
  const char* name;
  std::function<Var<double>(Tape<double>&)> build;  // records the op (its output is checked)
  const char* op;                                   // the op that runs
  double forward, backward;                         // hand counts
};

}  // namespace

TEST_CASE("profiler: every op's FLOPs equal the hand count, forward and backward") {
  // A, B 3x4 (12 entries), v 1x4, u 3x1, W 4x2, C 4x4: all parameters, so every input gets a gradient.
  Parameter<double> A(positive(3, 4, 1), "A"), B(positive(3, 4, 2), "B"), v(positive(1, 4, 3), "v");
  Parameter<double> u(positive(3, 1, 4), "u"), W(positive(4, 2, 5), "W"), C(positive(4, 4, 6), "C");
  const Matrix<double> K = positive(4, 2, 7);
  using T = Tape<double>;
  const std::vector<Case> cases = {
      {"add", [&](T& t) { return t.parameter(A) + t.parameter(B); }, "add", 12, 24},
      {"add, a row broadcast", [&](T& t) { return t.parameter(A) + t.parameter(v); }, "add", 12, 24},
      {"sub", [&](T& t) { return t.parameter(A) - t.parameter(B); }, "sub", 12, 24},
      {"mul", [&](T& t) { return mul(t.parameter(A), t.parameter(B)); }, "mul", 12, 48},
      {"div", [&](T& t) { return div(t.parameter(A), t.parameter(B)); }, "div", 12, 2 * 12 + 4 * 12},
      {"neg", [&](T& t) { return -t.parameter(A); }, "neg", 12, 12},
      {"add_scalar", [&](T& t) { return t.parameter(A) + 2.0; }, "add_scalar", 12, 12},
      {"mul_scalar", [&](T& t) { return t.parameter(A) * 2.0; }, "mul_scalar", 12, 24},
      {"rsub_scalar", [&](T& t) { return 2.0 - t.parameter(A); }, "rsub_scalar", 12, 12},
      {"rdiv_scalar", [&](T& t) { return 2.0 / t.parameter(A); }, "rdiv_scalar", 12, 36},
      {"square", [&](T& t) { return square(t.parameter(A)); }, "square", 12, 36},
      {"exp", [&](T& t) { return exp(t.parameter(A)); }, "exp", 12, 24},
      {"log", [&](T& t) { return log(t.parameter(A)); }, "log", 12, 24},
      {"sqrt", [&](T& t) { return sqrt(t.parameter(A)); }, "sqrt", 12, 36},
      {"pow", [&](T& t) { return pow(t.parameter(A), 3.0); }, "pow", 12, 48},
      {"pow 0", [&](T& t) { return pow(t.parameter(A), 0.0); }, "pow", 12, 0},
      {"abs", [&](T& t) { return abs(t.parameter(A)); }, "abs", 12, 36},
      {"relu", [&](T& t) { return relu(t.parameter(A)); }, "relu", 12, 36},
      {"tanh", [&](T& t) { return tanh(t.parameter(A)); }, "tanh", 12, 48},
      {"sigmoid", [&](T& t) { return sigmoid(t.parameter(A)); }, "sigmoid", 12, 48},
      {"sum", [&](T& t) { return sum(t.parameter(A)); }, "sum", 12, 12},
      {"mean", [&](T& t) { return mean(t.parameter(A)); }, "mean", 13, 13},
      {"colwise_sum", [&](T& t) { return colwise_sum(t.parameter(A)); }, "colwise_sum", 12, 12},
      {"rowwise_sum", [&](T& t) { return rowwise_sum(t.parameter(A)); }, "rowwise_sum", 12, 12},
      {"colwise_mean", [&](T& t) { return colwise_mean(t.parameter(A)); }, "colwise_mean", 16, 16},
      {"rowwise_mean", [&](T& t) { return rowwise_mean(t.parameter(A)); }, "rowwise_mean", 15, 15},
      {"norm", [&](T& t) { return norm(t.parameter(A)); }, "norm", 25, 25},
      {"rowwise_logsumexp", [&](T& t) { return rowwise_logsumexp(t.parameter(A)); }, "rowwise_logsumexp",
       4 * 12 + 2 * 3, 4 * 12},
      {"mse", [&](T& t) { return mse(t.parameter(A), t.parameter(B)); }, "mse", 3 * 12 + 1, 2 + 24 + 24},
      {"sum_squares", [&](T& t) { return sum_squares(t.parameter(A)); }, "sum_squares", 25, 26},
      // C = A W: 3x2, inner 4: 2·3·2·4 = 48, and one GEMM per gradient
      {"matmul", [&](T& t) { return matmul(t.parameter(A), t.parameter(W)); }, "matmul", 48, 96},
      {"matmul, one gradient", [&](T& t) { return matmul(t.parameter(A), t.constant(K)); }, "matmul", 48, 48},
      {"matmul_nt", [&](T& t) { return matmul_nt(t.parameter(A), t.parameter(B)); }, "matmul_nt", 72, 144},
      {"transpose", [&](T& t) { return transpose(t.parameter(A)); }, "transpose", 0, 12},
      {"diag of a vector", [&](T& t) { return diag(t.parameter(v)); }, "diag", 0, 4},
      {"diagonal of a matrix", [&](T& t) { return diag(t.parameter(C)); }, "diagonal", 0, 4},
      // AᵀA, A 3x4: the upper triangle, 3·4·5; backward one 3x4x4 GEMM: 2·3·16
      {"crossprod", [&](T& t) { return crossprod(t.parameter(A)); }, "crossprod", 60, 96},
      // A Aᵀ: 4·3·4; backward 2·9·4
      {"tcrossprod", [&](T& t) { return tcrossprod(t.parameter(A)); }, "tcrossprod", 48, 72},
      {"scale_columns", [&](T& t) { return scale_columns(t.parameter(A), t.parameter(v)); }, "scale_columns",
       12, 48},
      {"scale_rows", [&](T& t) { return scale_rows(t.parameter(u), t.parameter(A)); }, "scale_rows", 12, 48},
      {"sin", [&](T& t) { return sin(t.parameter(A)); }, "sin", 12, 36},
      {"cos", [&](T& t) { return cos(t.parameter(A)); }, "cos", 12, 36},
      {"log1p", [&](T& t) { return log1p(t.parameter(A)); }, "log1p", 12, 36},
      {"expm1", [&](T& t) { return expm1(t.parameter(A)); }, "expm1", 12, 36},
      {"softplus", [&](T& t) { return softplus(t.parameter(A)); }, "softplus", 12, 36},
      // dA 5 per entry, dB 6 (log, two ∘, +=, the A = 0 test's two comparisons)
      {"pow, matrix exponent", [&](T& t) { return pow(t.parameter(A), t.parameter(B)); }, "pow_matrix", 12,
       5 * 12 + 6 * 12},
      {"maximum", [&](T& t) { return maximum(t.parameter(A), t.parameter(B)); }, "maximum", 12, 2 * 2 * 12},
      {"minimum", [&](T& t) { return minimum(t.parameter(A), t.parameter(B)); }, "minimum", 12, 2 * 2 * 12},
      {"max", [&](T& t) { return max(t.parameter(A)); }, "max", 12, 2 * 12 + 2},
      {"min", [&](T& t) { return min(t.parameter(A)); }, "min", 12, 2 * 12 + 2},
      // each row's first entry starts its maximum: 12 - 3 comparisons; backward finds them again (12)
      {"rowwise_max", [&](T& t) { return rowwise_max(t.parameter(A)); }, "rowwise_max", 12 - 3, 12},
      {"colwise_max", [&](T& t) { return colwise_max(t.parameter(A)); }, "colwise_max", 12 - 4, 12},
      {"rowwise_min", [&](T& t) { return rowwise_min(t.parameter(A)); }, "rowwise_min", 12 - 3, 12},
      {"colwise_min", [&](T& t) { return colwise_min(t.parameter(A)); }, "colwise_min", 12 - 4, 12},
      {"clamp", [&](T& t) { return clamp(t.parameter(A), 0.2, 0.8); }, "clamp", 2 * 12, 3 * 12},
      {"cat, rows", [&](T& t) { return cat(t.parameter(A), t.parameter(B), 0); }, "cat", 0, 24},
      {"cat, columns", [&](T& t) { return cat(t.parameter(A), t.parameter(B), 1); }, "cat", 0, 24},
      {"narrow", [&](T& t) { return narrow(t.parameter(A), 1, 1, 2); }, "narrow", 0, 6},
      {"index_select",
       [&](T& t) {
         return index_select(t.parameter(A), 0, {2, 0});
       },
       "index_select", 0, 8},
      {"reshape", [&](T& t) { return reshape(t.parameter(A), 4, 3); }, "reshape", 0, 12},
      // max, -, exp, Σ, / per entry; backward S ∘ dS, Σ, -, ∘, +=
      {"rowwise_softmax", [&](T& t) { return rowwise_softmax(t.parameter(A)); }, "softmax", 60, 60},
      {"colwise_softmax", [&](T& t) { return colwise_softmax(t.parameter(A)); }, "softmax", 60, 60},
      // 6 per entry and a log per row (3) or column (4)
      {"rowwise_log_softmax", [&](T& t) { return rowwise_log_softmax(t.parameter(A)); }, "log_softmax",
       72 + 3, 60},
      {"colwise_log_softmax", [&](T& t) { return colwise_log_softmax(t.parameter(A)); }, "log_softmax",
       72 + 4, 60},
      {"colwise_logsumexp", [&](T& t) { return colwise_logsumexp(t.parameter(A)); }, "colwise_logsumexp",
       4 * 12 + 2 * 4, 4 * 12},
      {"logsumexp", [&](T& t) { return logsumexp(t.parameter(A)); }, "logsumexp", 4 * 12 + 2, 4 * 12},
      // forward: logsumexp 4·12 + 3 logs, 3 per row, / N; backward: the logsumexp again, / N, 3 per row
      // (row weights), 4 per entry, a -= per row
      {"cross_entropy, labels",
       [&](T& t) {
         return cross_entropy(t.parameter(A), {0, 3, 1});
       },
       "cross_entropy", 4 * 12 + 3 + 3 * 3 + 1, 4 * 12 + 3 + 1 + 3 * 3 + 4 * 12 + 3},
      // forward: logsumexp 4·12 + 3, 4 per entry, -, / N; backward: logsumexp, / N; dX 12 + 3·3 (row sums of
      // Y and weights), 6 per entry; dY 4 per entry
      {"cross_entropy, probabilities", [&](T& t) { return cross_entropy(t.parameter(A), t.parameter(B)); },
       "softmax_cross_entropy", 4 * 12 + 3 + 4 * 12 + 2, (4 * 12 + 3 + 1) + (12 + 3 * 3 + 6 * 12) + 4 * 12},
      {"binary_cross_entropy_with_logits",
       [&](T& t) { return binary_cross_entropy_with_logits(t.parameter(A), t.parameter(B)); },
       "binary_cross_entropy_with_logits", 4 * 12 + 1, 1 + 4 * 12 + 2 * 12},
  };
  for (const auto& c : cases) {
    SECTION(c.name) {
      Tape<double> tape;
      tape.set_graph_optimization(false);
      Profiler prof;
      tape.set_profiler(&prof);
      Var<double> y = c.build(tape);
      tape.backward(y, Matrix<double>::Ones(y.rows(), y.cols()));
      auto [f, b] = events_of(prof, y.index());
      REQUIRE(f.size() == 1);
      CHECK(std::string(f[0].op) == c.op);
      CHECK(f[0].cost_known);
      CHECK(f[0].flops == c.forward);
      REQUIRE(b.size() == 1);
      CHECK(b[0].flops == c.backward);
      CHECK(f[0].bytes > 0);
    }
  }
}

TEST_CASE("profiler: fused nodes are profiled as what runs, and say what they replaced") {
  Parameter<double> A(positive(3, 4, 1)), B(positive(3, 4, 2)), v(positive(1, 4, 3));
  Tape<double> tape;
  Profiler prof;
  tape.set_profiler(&prof);
  auto act = tanh(tape.parameter(A) + tape.parameter(v));  // -> add_tanh
  auto fit = mean(square(act - tape.parameter(B)));        // -> mse
  tape.backward(fit);
  auto [f1, b1] = events_of(prof, act.index());
  REQUIRE(f1.size() == 1);
  CHECK(std::string(f1[0].op) == "add_tanh");
  CHECK(std::string(f1[0].replaced) == "tanh(a + b)");
  CHECK(f1[0].flops == 24);                // add and tanh per entry
  CHECK(b1[0].flops == 3 * 12 + 12 + 12);  // G = (1 - C²) ∘ dC, then dA += G, dv += Σ G
  auto [f2, b2] = events_of(prof, fit.index());
  REQUIRE(f2.size() == 1);
  CHECK(std::string(f2[0].op) == "mse");
  CHECK(std::string(f2[0].replaced) == "mean(square(a - b))");
  CHECK(f2[0].flops == 3 * 12 + 1);
  CHECK(b2[0].flops == 2 + 24 + 24);
  // The nodes read around never ran.
  for (const auto& e : prof.events()) CHECK(std::string(e.op) != "square");
}

TEST_CASE("profiler: bytes touched count each matrix read and written once, times the entry size") {
  Parameter<float> A(Matrix<float>::Ones(3, 4)), W(Matrix<float>::Ones(4, 2));
  Tape<float> tape;
  Profiler prof;
  tape.set_profiler(&prof);
  auto y = matmul(tape.parameter(A), tape.parameter(W));
  tape.backward(y, Matrix<float>::Ones(3, 2));
  auto [f, b] = events_of(prof, y.index());
  REQUIRE(f.size() == 1);
  CHECK(f[0].bytes == (12 + 8 + 6) * 4.0);  // read A, W; write C
  // dA += dC Wᵀ: read dC, W, dA, write dA; dW += Aᵀ dC: read A, dC, dW, write dW
  CHECK(b[0].bytes == ((6 + 8 + 2 * 12) + (12 + 6 + 2 * 8)) * 4.0);
  CHECK(f[0].shapes.rows == 3);
  CHECK(f[0].shapes.cols == 2);
  CHECK(f[0].shapes.n_in == 2);
  CHECK(f[0].shapes.in_rows[1] == 4);
}

TEST_CASE("profiler: an op with no declared cost is profiled with an unknown cost") {
  Parameter<double> A(positive(2, 2, 1));
  Tape<double> tape;
  Profiler prof;
  tape.set_profiler(&prof);
  auto y = tape.record(
      "twice", {tape.parameter(A)}, 2, 2, [](OpContext<double>& c) { c.out() = 2 * c.in(0); },
      [](OpContext<double>& c) { c.grad_in(0) += 2 * c.grad_out(); });
  tape.backward(sum(y));
  auto [f, b] = events_of(prof, y.index());
  REQUIRE(f.size() == 1);
  CHECK_FALSE(f[0].cost_known);
  CHECK(f[0].flops == 0);
  const std::string table = prof.table();
  CHECK(table.find("twice") != std::string::npos);
  CHECK(table.find('?') != std::string::npos);
}

TEST_CASE("profiler: off records nothing, and anomaly detection still works with it on") {
  Parameter<double> A(positive(3, 4, 1));
  Tape<double> tape;
  Profiler prof;
  tape.set_profiler(&prof);
  auto loss = sum(square(tape.parameter(A)));
  tape.backward(loss);
  const auto n = prof.events().size();
  CHECK(n == 2);  // sum_squares(A) (fused from sum(square(A))), forward and backward: nothing else
  tape.set_profiler(nullptr);
  CHECK(tape.profiler() == nullptr);
  tape.forward();
  tape.backward(loss);
  CHECK(prof.events().size() == n);

  Tape<double> bad;
  bad.set_profiler(&prof);
  bad.set_anomaly_detection(true);
  Parameter<double> z(Matrix<double>::Zero(2, 2));
  CHECK_THROWS_AS(log(bad.parameter(z)), NonFiniteError);
  bad.set_anomaly_detection(false);
  CHECK(bad.profiler() == &prof);
}

namespace {

// The median over `reps` profiled steps (tape.forward(); tape.backward(loss)) of the ops' summed time over
// the step's wall time.
double median_coverage(Index m, Index n, int reps) {
  Matrix<double> M = Matrix<double>::Random(m, n);
  Parameter<double> U(Matrix<double>::Random(m, n)), d(Matrix<double>::Random(1, n)),
      V(Matrix<double>::Random(n, n));
  Tape<double> tape;
  auto loss = svd::seed_loss(tape, U, d, V, M);
  tape.backward(loss);  // sizes every buffer
  Profiler prof;
  prof.reserve(64 * static_cast<std::size_t>(reps));
  tape.set_profiler(&prof);
  for (int warm = 0; warm < 2; ++warm) {  // the first round warms the caches up, the second one counts
    prof.clear();
    for (int i = 0; i < reps; ++i) {
      auto step = prof.step();
      tape.forward();
      tape.backward(loss);
    }
  }
  REQUIRE(prof.steps().size() == static_cast<std::size_t>(reps));
  std::vector<double> ops(reps + 1, 0.0);
  for (const auto& e : prof.events()) {
    REQUIRE(e.step >= 1);
    ops[e.step] += static_cast<double>(e.duration_ns);
  }
  std::vector<double> ratio;
  for (const auto& s : prof.steps()) {
    REQUIRE(ops[s.id] <= static_cast<double>(s.duration_ns));
    ratio.push_back(ops[s.id] / static_cast<double>(s.duration_ns));
  }
  std::sort(ratio.begin(), ratio.end());
  const double median = ratio[ratio.size() / 2];
  INFO("seed loss " << m << "x" << n << ": ops cover a median " << median * 100 << "% of the step ("
                    << prof.events().size() / static_cast<std::size_t>(reps) << " op runs per step)");
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  WARN("sanitizer build: the timing bound is checked in release builds only");  // instrumented code
#else
  CHECK(median >= 0.9);
#endif
  // Which ops ran: the fused graph.
  const std::string table = prof.table();
  for (const char* op : {"scale_columns", "matmul_nt", "crossprod", "tcrossprod", "mse"})
    CHECK(table.find(op) != std::string::npos);
  return median;
}

}  // namespace

TEST_CASE("profiler: the ops' times add up to the step's wall time within 10% (seed loss 64x32)") {
  median_coverage(64, 32, 201);
}

TEST_CASE("profiler: the ops' times add up to the step's wall time within 10% (seed loss 1024x512)") {
  median_coverage(1024, 512, 9);
}

TEST_CASE("profiler: the FLOPs of the seed loss's products equal the hand count of bench/seed_problem.hpp") {
  const Index m = 64, n = 32;
  Matrix<double> M = Matrix<double>::Random(m, n);
  Parameter<double> U(Matrix<double>::Random(m, n)), d(Matrix<double>::Random(1, n)),
      V(Matrix<double>::Random(n, n));
  Tape<double> tape;
  Profiler prof;
  tape.set_profiler(&prof);
  auto loss = svd::seed_loss(tape, U, d, V, M);
  tape.backward(loss);
  double products_fwd = 0, products_bwd = 0;
  for (const auto& e : prof.events()) {
    const std::string op = e.op;
    if (op != "matmul_nt" && op != "crossprod" && op != "tcrossprod") continue;
    (e.phase == ProfilePhase::forward ? products_fwd : products_bwd) += e.flops;
  }
  // Forward: U S Vᵀ 2mn², UᵀU m·n·(n+1), V Vᵀ n·n·(n+1) (triangles); backward: 4mn², 2mn², 2n³.
  CHECK(products_fwd == 2.0 * m * n * n + 1.0 * m * n * (n + 1) + 1.0 * n * n * (n + 1));
  CHECK(products_bwd == 4.0 * m * n * n + 2.0 * m * n * n + 2.0 * n * n * n);
}

TEST_CASE("profiler: the Chrome trace is trace-event JSON with one complete event per op run and step") {
  Parameter<double> A(positive(8, 4, 1)), B(positive(8, 4, 2));
  Tape<double> tape;
  Profiler prof;
  tape.set_profiler(&prof);
  auto loss =
      mse(matmul_nt(tape.parameter(A), tape.parameter(A)), matmul_nt(tape.parameter(B), tape.parameter(B)));
  for (int i = 0; i < 3; ++i) {
    auto step = prof.step();
    tape.forward();
    tape.backward(loss);
  }
  const auto trace = nlohmann::json::parse(prof.chrome_trace());  // throws if not JSON
  REQUIRE(trace.is_object());
  REQUIRE(trace.contains("traceEvents"));
  const auto& events = trace["traceEvents"];
  REQUIRE(events.is_array());
  std::size_t ops = 0, steps = 0;
  double last_ts = -1;
  for (const auto& e : events) {
    REQUIRE(e.contains("name"));
    REQUIRE(e["name"].is_string());
    REQUIRE(e.contains("ph"));
    REQUIRE(e.contains("pid"));
    REQUIRE(e.contains("tid"));
    const std::string ph = e["ph"];
    if (ph == "M") continue;  // metadata: process and thread names
    REQUIRE(ph == "X");
    REQUIRE(e["ts"].is_number());
    REQUIRE(e["dur"].is_number());
    CHECK(e["dur"].get<double>() >= 0);
    CHECK(e["ts"].get<double>() >= 0);
    if (e["cat"] == "step") {
      ++steps;
      continue;
    }
    ++ops;
    CHECK((e["cat"] == "forward" || e["cat"] == "backward"));
    CHECK(e["args"]["flops"].get<double>() > 0);
    CHECK(e["ts"].get<double>() >= last_ts);  // in the order they ran
    last_ts = e["ts"].get<double>();
  }
  CHECK(ops == prof.events().size());
  CHECK(steps == 3);
  CHECK(ops == 3 * (3 + 3));  // matmul_nt, matmul_nt, mse, forward and backward
}

TEST_CASE("profiler: the summary groups by op, and the table names the ops with their share of the step") {
  Parameter<double> A(positive(16, 8, 1)), B(positive(16, 8, 2));
  Tape<double> tape;
  Profiler prof;
  tape.set_profiler(&prof);
  auto loss =
      mse(matmul_nt(tape.parameter(A), tape.parameter(A)), matmul_nt(tape.parameter(B), tape.parameter(B)));
  for (int i = 0; i < 4; ++i) {
    auto step = prof.step();
    tape.forward();
    tape.backward(loss);
  }
  const auto s = prof.summary();
  REQUIRE(s.size() == 2);
  const auto& mm = s[0].op == "matmul_nt" ? s[0] : s[1];
  CHECK(mm.op == "matmul_nt");
  CHECK(mm.calls_forward == 8);
  CHECK(mm.calls_backward == 8);
  CHECK(mm.flops_forward == 8 * 2.0 * 16 * 16 * 8);
  CHECK(s[0].ns() >= s[1].ns());
  const std::string table = prof.table();
  INFO(table);
  CHECK(table.find("matmul_nt") != std::string::npos);
  CHECK(table.find("% of step") != std::string::npos);
  CHECK(table.find("GFLOP/s") != std::string::npos);
  CHECK(table.find("4 steps timed") != std::string::npos);
  CHECK(prof.step_ns() >= prof.op_ns());
  CHECK_THROWS_AS((prof.begin_step(), prof.begin_step()), std::logic_error);
  prof.clear();
  CHECK(prof.events().empty());
  CHECK(prof.steps().empty());
}

TEST_CASE("profiler: the DOT graph coloured by time marks the slowest op red and labels every op's share") {
  Parameter<double> A(positive(64, 32, 1)), B(positive(64, 32, 2));
  Tape<double> tape;
  Profiler prof;
  tape.set_profiler(&prof);
  auto big = matmul_nt(tape.parameter(A), tape.parameter(A));
  auto loss = sum(big) + sum_squares(tape.parameter(B));
  for (int i = 0; i < 5; ++i) {
    tape.forward();
    tape.backward(loss);
  }
  const auto measured = prof.node_ns();
  REQUIRE(measured.size() > big.index());
  CHECK(measured[big.index()] > 0);
  // The colouring is tested on given times (which op is slowest in a real run depends on the machine's load).
  std::vector<double> times(measured.size(), 1.0);
  times[big.index()] = 100.0;
  DotOptions coloured;
  coloured.as_run = true;
  coloured.node_times = times;
  const std::string dot = to_dot(tape, loss, coloured);
  std::string node = "n";  // (appended: GCC 12 gives a false -Wrestrict error on "literal" + std::string)
  node += std::to_string(big.index());
  node += " [label=\"matmul_nt";
  const auto at = dot.find(node);
  REQUIRE(at != std::string::npos);
  const std::string line = dot.substr(at, dot.find('\n', at) - at);
  INFO(line);
  CHECK(line.find("fillcolor=\"#ff3232\"") != std::string::npos);  // the most time: the reddest
  CHECK(line.find('%') != std::string::npos);
  // Leaves keep their colours; without times the picture is unchanged.
  coloured.node_times.clear();
  CHECK(to_dot(tape, loss, coloured).find("#ff3232") == std::string::npos);
}
