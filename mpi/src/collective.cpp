// The collective ops and the MPI context (tapegrad::mpi). See collective.hpp.
#include "tapegrad/mpi/collective.hpp"

#include <mpi.h>

#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace tapegrad::mpi {

namespace {
Context* g_context = nullptr;
MPI_Comm g_comm = MPI_COMM_NULL;
Traffic g_traffic;

template <class T>
MPI_Datatype datatype() {
  return std::is_same_v<T, float> ? MPI_FLOAT : MPI_DOUBLE;
}

MPI_Comm comm() {
  if (g_comm == MPI_COMM_NULL)
    throw std::logic_error("tapegrad::mpi: no Context: make a tapegrad::mpi::Context in main() first");
  return g_comm;
}

template <class T>
void allreduce(T* values, std::int64_t count, MPI_Op op) {
  if (count == 0) return;
  if (count > std::numeric_limits<int>::max())
    throw std::length_error("tapegrad::mpi: allreduce of more than 2^31 values");
  const int rc = MPI_Allreduce(MPI_IN_PLACE, values, static_cast<int>(count), datatype<T>(), op, comm());
  if (rc != MPI_SUCCESS) throw std::runtime_error("tapegrad::mpi: MPI_Allreduce failed");
  ++g_traffic.calls;
  g_traffic.bytes += count * std::int64_t(sizeof(T));
}

// The profiler's cost of a copy of n entries, by the convention of docs/profiling.md (what autodiff's private
// unary_cost<0, 1, 0> gives): forward no FLOPs, X read and Y written; backward dX += dY, one add per entry,
// dY and dX read, dX written. The communication is not counted here (traffic() counts it).
OpCost copy_cost(const OpShapes& s, bool backward) {
  const double n = static_cast<double>(s.rows) * static_cast<double>(s.cols);
  if (!backward) return {0, 2 * n};
  if (!s.needs_grad[0]) return {};
  return {n, 3 * n};
}
}  // namespace

Context::Context(int* argc, char*** argv) {
  if (g_context) throw std::logic_error("tapegrad::mpi: a Context exists already (make one, in main())");
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
    finalize_ = true;
  }
  MPI_Comm_dup(MPI_COMM_WORLD, &g_comm);
  MPI_Comm_rank(g_comm, &rank_);
  MPI_Comm_size(g_comm, &size_);
  g_context = this;
}

Context::~Context() {
  MPI_Comm_free(&g_comm);
  g_comm = MPI_COMM_NULL;
  g_context = nullptr;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalize_ && !finalized) MPI_Finalize();
}

Context& Context::current() {
  if (!g_context)
    throw std::logic_error("tapegrad::mpi: no Context: make a tapegrad::mpi::Context in main() first");
  return *g_context;
}
bool Context::active() { return g_context != nullptr; }

void abort(int code) {
  MPI_Abort(comm(), code);
  std::abort();  // MPI_Abort does not return; this says so to the compiler
}

void sum(double* values, std::int64_t count) { allreduce(values, count, MPI_SUM); }
void sum(float* values, std::int64_t count) { allreduce(values, count, MPI_SUM); }
void max(double* values, std::int64_t count) { allreduce(values, count, MPI_MAX); }
void max(float* values, std::int64_t count) { allreduce(values, count, MPI_MAX); }
void barrier() { MPI_Barrier(comm()); }

Matrix<double> gather_rows(const Matrix<double>& local) {
  const Context& ctx = Context::current();
  const bool root = ctx.rank() == 0;
  if (local.rows() > std::numeric_limits<int>::max() || local.cols() > std::numeric_limits<int>::max())
    throw std::length_error("tapegrad::mpi::gather_rows: a block of more than 2^31 - 1 rows or columns");
  const int n = static_cast<int>(local.cols());
  int rows = static_cast<int>(local.rows());
  std::vector<int> counts(std::size_t(ctx.size())), offsets(std::size_t(ctx.size()));
  MPI_Gather(&rows, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, comm());
  // Counted in rows (an MPI datatype of n doubles), so that m·n may exceed 2^31. Process 0 allocates the
  // result first and tells the others whether it could, so that nobody is left waiting in MPI_Gatherv.
  std::int64_t total = 0;
  for (std::size_t p = 0; p < counts.size(); ++p) {
    offsets[p] = static_cast<int>(std::min<std::int64_t>(total, std::numeric_limits<int>::max()));
    total += counts[p];
  }
  int ok = 1;
  Matrix<double> all_t, out;  // row-major blocks: each process sends its rows as the columns of its transpose
  if (root) {
    try {
      if (total > std::numeric_limits<int>::max()) throw std::bad_alloc();
      all_t.resize(n, static_cast<Index>(total));
      out.resize(static_cast<Index>(total), n);
    } catch (const std::bad_alloc&) {
      ok = 0;
    }
  }
  MPI_Bcast(&ok, 1, MPI_INT, 0, comm());
  if (!ok) throw std::bad_alloc();
  const Matrix<double> lt = local.transpose();
  MPI_Datatype row;
  MPI_Type_contiguous(n, MPI_DOUBLE, &row);
  MPI_Type_commit(&row);
  MPI_Gatherv(lt.data(), rows, row, all_t.data(), counts.data(), offsets.data(), row, 0, comm());
  MPI_Type_free(&row);
  ++g_traffic.calls;
  g_traffic.bytes += std::int64_t(rows) * n * std::int64_t(sizeof(double));
  if (root) out = all_t.transpose();
  return out;
}

Traffic traffic() { return g_traffic; }
void reset_traffic() { g_traffic = {}; }

RowBlock row_block(Index rows, int rank, int size) {
  if (size < 1 || rank < 0 || rank >= size || rows < 0)
    throw std::invalid_argument("tapegrad::mpi::row_block: bad rank " + std::to_string(rank) + " of " +
                                std::to_string(size));
  const Index base = rows / size, extra = rows % size;
  return {rank * base + std::min<Index>(rank, extra), base + (rank < extra ? 1 : 0)};
}

template <class T>
Var<T> allreduce_sum(Var<T> x) {
  // Y = Σ_p X_p (the same Y on every process)   =>   dX_p += dY (every process holds the same dY)
  // Linear, so its second-order rules are the op itself on the tangents: Ẏ = Σ_p Ẋ_p,   dẊ_p += Ġ.
  static constexpr OpDef<T> op{"allreduce_sum",
                               OpKind::custom,
                               [](OpContext<T>& c) {
                                 c.out() = c.in(0);
                                 allreduce(c.out().data(), c.out().size(), MPI_SUM);
                               },
                               [](OpContext<T>& c) {
                                 if (c.needs_grad(0)) c.grad_in(0) += c.grad_out();
                               },
                               copy_cost,
                               false,
                               [](OpContext<T>& c) {
                                 c.tangent_out() = c.tangent_in(0);
                                 allreduce(c.tangent_out().data(), c.tangent_out().size(), MPI_SUM);
                               },
                               [](OpContext<T>& c) {
                                 if (c.needs_grad(0)) c.grad_in_tangent(0) += c.grad_out_tangent();
                               }};
  return x.tape().record(op, {x}, x.rows(), x.cols());
}

template <class T>
Var<T> replicated(Var<T> x) {
  // Y_p = X (the same X on every process)   =>   dX += Σ_p dY_p
  // Linear, so its second-order rules are the op itself on the tangents: Ẏ_p = Ẋ,   dẊ += Σ_p Ġ_p.
  static constexpr OpDef<T> op{
      "replicated",
      OpKind::custom,
      [](OpContext<T>& c) { c.out() = c.in(0); },
      [](OpContext<T>& c) {
        // Every process runs this backward (the graphs are the same), so the allreduce is collective even
        // where the input needs no gradient. The sum goes through a per-thread buffer: no allocation once
        // it has grown to the largest replicated value.
        thread_local Matrix<T> total;
        total = c.grad_out();
        allreduce(total.data(), total.size(), MPI_SUM);
        if (c.needs_grad(0)) c.grad_in(0) += total;
      },
      copy_cost,
      false,
      [](OpContext<T>& c) { c.tangent_out() = c.tangent_in(0); },
      [](OpContext<T>& c) {
        thread_local Matrix<T> total;  // as in the backward: collective on every process
        total = c.grad_out_tangent();
        allreduce(total.data(), total.size(), MPI_SUM);
        if (c.needs_grad(0)) c.grad_in_tangent(0) += total;
      }};
  return x.tape().record(op, {x}, x.rows(), x.cols());
}

template Var<float> allreduce_sum<float>(Var<float>);
template Var<double> allreduce_sum<double>(Var<double>);
template Var<float> replicated<float>(Var<float>);
template Var<double> replicated<double>(Var<double>);

}  // namespace tapegrad::mpi
