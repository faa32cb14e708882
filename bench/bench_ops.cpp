// Per-op forward and backward micro-benchmarks, and the tape's overhead per recorded 1x1 node.
#include <string>
#include <type_traits>

#include "harness.hpp"
#include "vecmath.hpp"  // detail::vec, internal to tapegrad::autodiff

using namespace tapegrad;
using tapegrad::bench::allocations;

namespace {

// Records the chain x -> x * c -> ... (n nodes of 1x1) and backpropagates: time per node.
void tape_overhead(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  Parameter<double> x(Matrix<double>::Constant(1, 1, 1.0));
  Tape<double> tape;
  auto run = [&] {
    tape.clear();
    auto v = tape.parameter(x);
    for (int i = 0; i < n; ++i) v = v * 1.0000001;
    tape.backward(v);
  };
  bench::time_steps(state, run);
  // Seconds per node (Google Benchmark prints it with a unit prefix, e.g. 30n = 30 ns).
  state.counters["s/node"] =
      benchmark::Counter(static_cast<double>(n) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(tape_overhead)->Arg(1000)->Arg(100000);

// op(A) forward (record) and backward at n×n, for a few representative ops.
template <class F>
void op_bench(benchmark::State& state, F op, double flops_per_n3) {
  const Index n = state.range(0);
  Parameter<double> a(Matrix<double>::Random(n, n)), b(Matrix<double>::Random(n, n));
  Tape<double> tape;
  auto run = [&] {
    tape.clear();
    auto y = op(tape.parameter(a), tape.parameter(b));
    tape.backward(sum(y));
  };
  bench::time_steps(state, run);
  bench::report_flops(state, flops_per_n3 * double(n) * double(n) * double(n));
}

void matmul_fb(benchmark::State& s) {
  op_bench(
      s, [](Var<double> a, Var<double> b) { return matmul(a, b); }, 6.0);
}
void crossprod_fb(benchmark::State& s) {
  op_bench(
      s, [](Var<double> a, Var<double>) { return crossprod(a); }, 3.0);
}
void crossprod_as_matmul_fb(benchmark::State& s) {
  op_bench(
      s, [](Var<double> a, Var<double>) { return matmul(transpose(a), a); }, 6.0);
}
void mse_fb(benchmark::State& s) {
  op_bench(
      s, [](Var<double> a, Var<double> b) { return mse(a, b); }, 0);
}
void mse_composite_fb(benchmark::State& s) {
  op_bench(
      s, [](Var<double> a, Var<double> b) { return mean(square(a - b)); }, 0);
}
void tanh_fb(benchmark::State& s) {
  op_bench(
      s, [](Var<double> a, Var<double>) { return tanh(a); }, 0);
}
void add_bias_fb(benchmark::State& s) {
  op_bench(
      s, [](Var<double> a, Var<double> b) { return a + colwise_sum(b); }, 0);
}
void matmul_nt_fb(benchmark::State& s) {
  op_bench(
      s, [](Var<double> a, Var<double> b) { return matmul_nt(a, b); }, 6.0);
}
void matmul_transpose_fb(benchmark::State& s) {
  op_bench(
      s, [](Var<double> a, Var<double> b) { return matmul(a, transpose(b)); }, 6.0);
}
void tcrossprod_fb(benchmark::State& s) {
  op_bench(
      s, [](Var<double> a, Var<double>) { return tcrossprod(a); }, 3.0);
}
BENCHMARK(matmul_fb)->Arg(4)->Arg(64)->Arg(256);
BENCHMARK(matmul_nt_fb)->Arg(4)->Arg(64)->Arg(256);
BENCHMARK(matmul_transpose_fb)->Arg(4)->Arg(64)->Arg(256);
BENCHMARK(tcrossprod_fb)->Arg(4)->Arg(64)->Arg(256);
BENCHMARK(crossprod_fb)->Arg(4)->Arg(64)->Arg(256);
BENCHMARK(crossprod_as_matmul_fb)->Arg(4)->Arg(64)->Arg(256);
BENCHMARK(mse_fb)->Arg(4)->Arg(256);
BENCHMARK(mse_composite_fb)->Arg(4)->Arg(256);
BENCHMARK(tanh_fb)->Arg(4)->Arg(256);
BENCHMARK(add_bias_fb)->Arg(4)->Arg(256);

// ---- elementwise transcendental functions over 256x64 (16384 entries, a hidden layer's activations):
// Eigen's expression (what the ops computed before detail::vec: libm one element at a time, except where
// Eigen vectorises the function itself for SSE2) against detail::vec on each instruction set (arg: 0 scalar
// libm, 1 SSE2, 2 AVX2+FMA; skipped if the CPU lacks it). "elems/s" is entries per second.
constexpr Index kRows = 256, kCols = 64;

template <class T>
Matrix<T> activations() {
  return Matrix<T>::Random(kRows, kCols) * T(4);  // in [-4, 4]: neither saturated nor linear
}

/// The detail::vec functions of the benchmark argument's instruction set (null, and the benchmark skipped, if
/// this build or CPU cannot run it).
template <class T>
const detail::vec::Kernels<T>* use_isa(benchmark::State& state) {
  const auto isa = static_cast<detail::vec::Isa>(state.range(0));
  if (!detail::vec::isa_supported(isa)) {
    state.SkipWithError("instruction set not supported here");
    return nullptr;
  }
  state.SetLabel(detail::vec::isa_name(isa));
  return &detail::vec::kernels<T>(isa);
}

template <class T, class F>
void elementwise_bench(benchmark::State& state, F f) {
  const Matrix<T> x = activations<T>();
  Matrix<T> y(kRows, kCols);
  f(x, y);
  const auto before = allocations();
  for (auto _ : state) {
    f(x, y);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  bench::report_allocations(state, before);
  state.counters["elems/s"] =
      benchmark::Counter(double(x.size()), benchmark::Counter::kIsIterationInvariantRate);
}

/// The detail::vec function kernel(kernels) of the benchmark argument's instruction set.
template <class T, class Kernel>
void vec_bench(benchmark::State& s, Kernel kernel) {
  const auto* k = use_isa<T>(s);
  if (!k) return;
  elementwise_bench<T>(
      s, [f = kernel(*k)](const Matrix<T>& x, Matrix<T>& y) { f(x.data(), y.data(), x.size()); });
}

/// Registers NAME_eigen<T>, Eigen's expression eigen(x, y), against NAME_vec<T>, the detail::vec function
/// kernel(kernels) on each instruction set; in float, then in double.
template <class T, class Eigen, class Kernel>
void eigen_vs_vec(const std::string& name, Eigen eigen, Kernel kernel) {
  const std::string type = std::is_same_v<T, float> ? "<float>" : "<double>";
  benchmark::RegisterBenchmark((name + "_eigen" + type).c_str(),
                               [eigen](benchmark::State& s) { elementwise_bench<T>(s, eigen); });
  benchmark::RegisterBenchmark((name + "_vec" + type).c_str(),
                               [kernel](benchmark::State& s) { vec_bench<T>(s, kernel); })
      ->Arg(0)
      ->Arg(1)
      ->Arg(2);
}
template <class Eigen, class Kernel>
void eigen_vs_vec(const std::string& name, Eigen eigen, Kernel kernel) {
  eigen_vs_vec<float>(name, eigen, kernel);
  eigen_vs_vec<double>(name, eigen, kernel);
}

[[maybe_unused]] const bool elementwise_registered = [] {
  eigen_vs_vec(
      "tanh", [](const auto& x, auto& y) { y = x.array().tanh(); }, [](const auto& k) { return k.tanh; });
  eigen_vs_vec(
      "exp", [](const auto& x, auto& y) { y = x.array().exp(); }, [](const auto& k) { return k.exp; });
  // The sigmoid op's former forward: the stable formula, one element at a time.
  auto sigmoid = [](const auto& x, auto& y) {
    using T = typename std::decay_t<decltype(x)>::Scalar;
    y = x.unaryExpr([](T v) {
      if (v >= T(0)) return T(1) / (T(1) + std::exp(-v));
      const T e = std::exp(v);
      return e / (T(1) + e);
    });
  };
  eigen_vs_vec("sigmoid", sigmoid, [](const auto& k) { return k.sigmoid; });
  return true;
}();

// The tanh op's forward and backward through the tape at 256x64, on the instruction set the library chose
// (the kernels alone on each set: tanh_vec).
template <class T>
void tanh_op_fb(benchmark::State& state) {
  state.SetLabel(detail::vec::isa_name(detail::vec::active_isa()));
  Parameter<T> a(activations<T>());
  Tape<T> tape;
  auto run = [&] {
    tape.clear();
    tape.backward(sum(tanh(tape.parameter(a))));
  };
  bench::time_steps(state, run);
}
BENCHMARK_TEMPLATE(tanh_op_fb, float);
BENCHMARK_TEMPLATE(tanh_op_fb, double);

// ---- the products alone: Eigen's kernel against OpenBLAS's, to place gemm.cpp's threshold, and OpenBLAS's
// sgemm/ssyrk rate at the 1024x512 step's shapes (the ceiling the step's products are measured against).
// CBLAS is declared here (weak, ABI of cblas.h: enums are ints) so that the benchmarks need no BLAS headers.
extern "C" {
void cblas_sgemm(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*,
                 int) __attribute__((weak));
void cblas_ssyrk(int, int, int, int, int, float, const float*, int, float, float*, int) __attribute__((weak));
}
constexpr int kColMajor = 102, kNoTrans = 111, kTrans = 112, kUpper = 121;

// C (m×n) = op(A) op(B) with k the inner size, by product(a, b, c, trans_a, trans_b); args m, n, k, trans_a,
// trans_b.
template <class Product>
void gemm_bench(benchmark::State& state, Product product) {
  const Index m = state.range(0), n = state.range(1), k = state.range(2);
  const bool ta = state.range(3), tb = state.range(4);
  Matrix<float> a = ta ? Matrix<float>::Random(k, m) : Matrix<float>::Random(m, k);
  Matrix<float> b = tb ? Matrix<float>::Random(n, k) : Matrix<float>::Random(k, n);
  Matrix<float> c(m, n);
  for (auto _ : state) {
    product(a, b, c, ta, tb);
    benchmark::DoNotOptimize(c.data());
  }
  bench::report_flops(state, 2.0 * double(m) * double(n) * double(k));
}
void eigen_sgemm(benchmark::State& state) {
  gemm_bench(state, [](const Matrix<float>& a, const Matrix<float>& b, Matrix<float>& c, bool ta, bool tb) {
    if (!ta && !tb)
      c.noalias() = a * b;
    else if (!ta)
      c.noalias() = a * b.transpose();
    else if (!tb)
      c.noalias() = a.transpose() * b;
    else
      c.noalias() = a.transpose() * b.transpose();
  });
}
void blas_sgemm(benchmark::State& state) {
  if (!cblas_sgemm) {
    state.SkipWithError("no CBLAS linked");
    return;
  }
  gemm_bench(state, [](const Matrix<float>& a, const Matrix<float>& b, Matrix<float>& c, bool ta, bool tb) {
    const Index m = c.rows(), n = c.cols(), k = ta ? a.rows() : a.cols();
    cblas_sgemm(kColMajor, ta ? kTrans : kNoTrans, tb ? kTrans : kNoTrans, int(m), int(n), int(k), 1.0f,
                a.data(), int(a.rows()), b.data(), int(b.rows()), 0.0f, c.data(), int(m));
  });
}
// C (n×n) = AᵀA for a k×n A; args n, k. FLOPs counted as gemm's (2 n² k) so that rates compare with it.
void blas_ssyrk(benchmark::State& state) {
  if (!cblas_ssyrk) {
    state.SkipWithError("no CBLAS linked");
    return;
  }
  const Index n = state.range(0), k = state.range(1);
  Matrix<float> a = Matrix<float>::Random(k, n), c(n, n);
  for (auto _ : state) {
    cblas_ssyrk(kColMajor, kUpper, kTrans, int(n), int(k), 1.0f, a.data(), int(k), 0.0f, c.data(), int(n));
    benchmark::DoNotOptimize(c.data());
  }
  bench::report_flops(state, 2.0 * double(n) * double(n) * double(k));
}
void threshold_args(benchmark::internal::Benchmark* b) {
  // The seed step's shapes: (m, n, n) NT and NN, (n, n, m) TN, for square-ish sizes around the threshold.
  for (int n : {8, 16, 24, 32, 48, 64, 96, 128}) b->Args({n, n, n, 0, 0});
  for (int n : {16, 32, 64}) {
    b->Args({2 * n, n, n, 0, 1});
    b->Args({n, n, 2 * n, 1, 0});
  }
}
BENCHMARK(eigen_sgemm)->Apply(threshold_args);
BENCHMARK(blas_sgemm)->Apply(threshold_args);
// The 1024x512 step's products: U diag(d²) Vᵀ (NT), dU = dC V (NN), dV = dCᵀ U (TN), V Vᵀ and its backward.
BENCHMARK(blas_sgemm)
    ->Args({1024, 512, 512, 0, 1})
    ->Args({1024, 512, 512, 0, 0})
    ->Args({512, 512, 1024, 1, 0})
    ->Args({512, 512, 512, 0, 0})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(blas_ssyrk)->Args({512, 1024})->Args({512, 512})->Unit(benchmark::kMillisecond);

}  // namespace
