// The collective ops and the MPI context (tapegrad::mpi). See collective.hpp.
#include "tapegrad/mpi/collective.hpp"

#include <mpi.h>

#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace tapegrad::mpi {

struct Context::Comm {
  MPI_Comm comm = MPI_COMM_NULL;
};

namespace {

template <class T>
MPI_Datatype datatype() {
  return std::is_same_v<T, float> ? MPI_FLOAT : MPI_DOUBLE;
}

// The profiler's cost of a copy of n entries, by the convention of docs/profiling.md (what autodiff's private
// unary_cost<0, 1, 0> gives): forward no FLOPs, X read and Y written; backward dX += dY, one add per entry,
// dY and dX read, dX written. The communication is not counted here (Context::traffic counts it).
OpCost copy_cost(const OpShapes& s, bool backward) {
  const double n = static_cast<double>(s.rows) * static_cast<double>(s.cols);
  if (!backward) return {0, 2 * n};
  if (!s.needs_grad[0]) return {};
  return {n, 3 * n};
}
}  // namespace

Context::Context(int* argc, char*** argv) : comm_(std::make_unique<Comm>()) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
    finalize_ = true;
  }
  MPI_Comm_dup(MPI_COMM_WORLD, &comm_->comm);
  MPI_Comm_rank(comm_->comm, &rank_);
  MPI_Comm_size(comm_->comm, &size_);
}

Context::~Context() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) return;  // nothing left to free
  MPI_Comm_free(&comm_->comm);
  if (finalize_) MPI_Finalize();
}

template <class T>
void Context::allreduce(T* values, std::int64_t count, bool maximum) const {
  if (count == 0) return;
  if (count > std::numeric_limits<int>::max())
    throw std::length_error("tapegrad::mpi: allreduce of more than 2^31 values");
  const int rc = MPI_Allreduce(MPI_IN_PLACE, values, static_cast<int>(count), datatype<T>(),
                               maximum ? MPI_MAX : MPI_SUM, comm_->comm);
  if (rc != MPI_SUCCESS) throw std::runtime_error("tapegrad::mpi: MPI_Allreduce failed");
  ++traffic_.calls;
  traffic_.bytes += count * std::int64_t(sizeof(T));
}

void Context::abort(int code) const {
  MPI_Abort(comm_->comm, code);
  std::abort();  // MPI_Abort does not return; this says so to the compiler
}

void Context::sum(double* values, std::int64_t count) const { allreduce(values, count, false); }
void Context::sum(float* values, std::int64_t count) const { allreduce(values, count, false); }
void Context::max(double* values, std::int64_t count) const { allreduce(values, count, true); }
void Context::max(float* values, std::int64_t count) const { allreduce(values, count, true); }
void Context::barrier() const { MPI_Barrier(comm_->comm); }

Matrix<double> Context::gather_rows(const Matrix<double>& local) const {
  const bool root = rank_ == 0;
  const MPI_Comm comm = comm_->comm;
  if (local.rows() > std::numeric_limits<int>::max() || local.cols() > std::numeric_limits<int>::max())
    throw std::length_error(
        "tapegrad::mpi::Context::gather_rows: a block of more than 2^31 - 1 rows or columns");
  const int n = static_cast<int>(local.cols());
  int rows = static_cast<int>(local.rows());
  const auto procs = static_cast<std::size_t>(size_);
  std::vector<int> counts(procs), offsets(procs);
  MPI_Gather(&rows, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, comm);
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
  MPI_Bcast(&ok, 1, MPI_INT, 0, comm);
  if (!ok) throw std::bad_alloc();
  const Matrix<double> lt = local.transpose();
  MPI_Datatype row;
  MPI_Type_contiguous(n, MPI_DOUBLE, &row);
  MPI_Type_commit(&row);
  MPI_Gatherv(lt.data(), rows, row, all_t.data(), counts.data(), offsets.data(), row, 0, comm);
  MPI_Type_free(&row);
  ++traffic_.calls;
  traffic_.bytes += std::int64_t(rows) * n * std::int64_t(sizeof(double));
  if (root) out = all_t.transpose();
  return out;
}

// The collective ops' functions: each reads its node's Context (OpParams::object).
template <class T>
struct Ops {
  static const Context& of(const OpContext<T>& c) { return c.template object<Context>(); }

  // Y = Σ_p X_p (the same Y on every process)   =>   dX_p += dY (every process holds the same dY)
  // Linear, so its second-order rules are the op itself on the tangents: Ẏ = Σ_p Ẋ_p,   dẊ_p += Ġ.
  static constexpr OpDef<T> allreduce_sum{"allreduce_sum",
                                          OpKind::custom,
                                          [](OpContext<T>& c) {
                                            c.out() = c.in(0);
                                            of(c).allreduce(c.out().data(), c.out().size(), false);
                                          },
                                          [](OpContext<T>& c) {
                                            if (c.needs_grad(0)) c.grad_in(0) += c.grad_out();
                                          },
                                          copy_cost,
                                          false,
                                          [](OpContext<T>& c) {
                                            c.tangent_out() = c.tangent_in(0);
                                            of(c).allreduce(c.tangent_out().data(), c.tangent_out().size(),
                                                            false);
                                          },
                                          [](OpContext<T>& c) {
                                            if (c.needs_grad(0)) c.grad_in_tangent(0) += c.grad_out_tangent();
                                          }};

  // Y_p = X (the same X on every process)   =>   dX += Σ_p dY_p
  // Linear, so its second-order rules are the op itself on the tangents: Ẏ_p = Ẋ,   dẊ += Σ_p Ġ_p.
  // Every process runs the backward (the graphs are the same), so the allreduce is collective even where the
  // input needs no gradient. The sum goes through the node's own matrix (OpContext::state): no allocation
  // once it has its size.
  static void sum_into(OpContext<T>& c, const Matrix<T>& g, Matrix<T>& grad_in) {
    Matrix<T>& total = c.state();
    total = g;
    of(c).allreduce(total.data(), total.size(), false);
    if (c.needs_grad(0)) grad_in += total;
  }
  static constexpr OpDef<T> replicated{
      "replicated",
      OpKind::custom,
      [](OpContext<T>& c) { c.out() = c.in(0); },
      [](OpContext<T>& c) { sum_into(c, c.grad_out(), c.grad_in(0)); },
      copy_cost,
      false,
      [](OpContext<T>& c) { c.tangent_out() = c.tangent_in(0); },
      [](OpContext<T>& c) { sum_into(c, c.grad_out_tangent(), c.grad_in_tangent(0)); }};
};

namespace {
template <class T>
OpParams<T> with(const Context& ctx) {
  OpParams<T> p;
  p.object = &ctx;
  return p;
}
}  // namespace

template <class T>
Var<T> allreduce_sum(const Context& ctx, Var<T> x) {
  return x.tape().record(Ops<T>::allreduce_sum, {x}, x.rows(), x.cols(), T(0), 0, with<T>(ctx));
}

template <class T>
Var<T> replicated(const Context& ctx, Var<T> x) {
  return x.tape().record(Ops<T>::replicated, {x}, x.rows(), x.cols(), T(0), 0, with<T>(ctx));
}

template Var<float> allreduce_sum<float>(const Context&, Var<float>);
template Var<double> allreduce_sum<double>(const Context&, Var<double>);
template Var<float> replicated<float>(const Context&, Var<float>);
template Var<double> replicated<double>(const Context&, Var<double>);

}  // namespace tapegrad::mpi
