// The tape's contract: one reverse sweep, accumulation, clearing, replay, handle checks, anomaly mode.
#include <catch2/catch.hpp>
#include <new>
#include <stdexcept>

#include "tapegrad/autodiff.hpp"

using namespace tapegrad;
using M = Matrix<double>;

TEST_CASE("z = x * y^5 gives the first notebook's derivatives", "[tape][seed]") {
  Parameter<double> x(M::Constant(1, 1, 3.0)), y(M::Constant(1, 1, 7.0));
  Tape<double> t;
  auto z = mul(t.parameter(x), pow(t.parameter(y), 5.0));
  t.backward(z);
  CHECK(z.value()(0, 0) == 3.0 * 16807.0);
  CHECK(x.grad(0, 0) == 16807.0);
  CHECK(y.grad(0, 0) == 36015.0);  // 5 x y^4 = 15 * 2401
}

TEST_CASE("a chain of a million nodes backpropagates without recursion", "[tape]") {
  Parameter<double> p(M::Constant(1, 1, 1.0));
  Tape<double> t;
  auto v = t.parameter(p);
  for (int i = 0; i < 1'000'000; ++i) v = v * 1.000001;
  t.backward(v);
  CHECK(p.grad(0, 0) == Approx(std::pow(1.000001, 1'000'000)).epsilon(1e-9));
  CHECK(t.size() == 1'000'001);
}

TEST_CASE("constants get no gradient work", "[tape]") {
  Parameter<double> p(M::Ones(2, 2));
  Tape<double> t;
  auto c = t.constant(M::Ones(2, 2));
  auto k = exp(c);  // depends only on constants
  auto l = sum(matmul(t.parameter(p), k));
  CHECK_FALSE(c.needs_grad());
  CHECK_FALSE(k.needs_grad());
  CHECK(l.needs_grad());
  t.backward(l);
  CHECK(p.grad.isApprox(M::Constant(2, 2, 2 * std::exp(1.0))));
  // The constant branch has no gradient: reading one is an error (test_surface.cpp has more).
  CHECK_THROWS_AS(k.grad(), TapeError);
  CHECK_THROWS_AS(c.grad(), TapeError);
}

TEST_CASE("gradients accumulate until zeroed, as in PyTorch", "[tape]") {
  Parameter<double> p(M::Constant(1, 1, 2.0));
  Tape<double> t;
  for (int i = 0; i < 3; ++i) {
    t.clear();
    t.backward(square(t.parameter(p)));
  }
  CHECK(p.grad(0, 0) == 12.0);  // 3 * 2p
  p.zero_grad();
  CHECK(p.grad(0, 0) == 0.0);
  // The same node used twice adds both contributions.
  t.clear();
  auto x = t.parameter(p);
  t.backward(mul(x, x) + x);
  CHECK(p.grad(0, 0) == 5.0);
}

TEST_CASE("the seed's heavy-ball momentum works through accumulation", "[tape]") {
  // X -= lr * X.grad; X.grad *= momentum, with no zero_grad: the gradient buffer is the velocity.
  Parameter<double> x(M::Constant(1, 1, 1.0));
  Tape<double> t;
  double ref_x = 1.0, ref_v = 0.0;
  for (int i = 0; i < 20; ++i) {
    t.clear();
    t.backward(square(t.parameter(x)));
    x.value -= 0.1 * x.grad;
    x.grad *= 0.9;
    ref_v = ref_v + 2 * ref_x;
    ref_x -= 0.1 * ref_v;
    ref_v *= 0.9;
    REQUIRE(x.value(0, 0) == Approx(ref_x).epsilon(1e-15));
  }
}

TEST_CASE("clear keeps buffers; parameters outlive clears", "[tape]") {
  Parameter<double> p(M::Ones(8, 8));
  Tape<double> t;
  auto record = [&] { return sum(matmul(t.parameter(p), t.parameter(p))); };
  auto l = record();
  const double* before = l.value().data();
  t.clear();
  auto l2 = record();
  CHECK(l2.value().data() == before);
  CHECK(l2.value()(0, 0) == 512.0);
}

TEST_CASE("stale and foreign handles are errors", "[tape][errors]") {
  Tape<double> t1, t2;
  auto a = t1.constant(M::Ones(2, 2));
  auto b = t2.constant(M::Ones(2, 2));
  CHECK_THROWS_MATCHES(matmul(a, b), TapeError,
                       Catch::Message("matmul: the two inputs belong to different tapes"));
  t1.clear();
  CHECK_THROWS_WITH(exp(a), Catch::Contains("stale handle"));
  CHECK_THROWS_AS(a.value(), TapeError);
  CHECK_THROWS_AS(t2.backward(a), TapeError);
  Var<double> none;
  CHECK_THROWS_WITH(none.value(), Catch::Contains("belongs to no tape"));
}

TEST_CASE("a handle from before a clear stays stale when the new recording is as long", "[tape][errors]") {
  Parameter<double> p(M::Ones(1, 1));
  Tape<double> t;
  auto record = [&] {
    auto x = t.parameter(p);
    return exp(x * 2.0);
  };
  auto old = record();
  CHECK(old.index() == 2);
  t.clear();
  t.clear();  // clearing an empty tape revives nothing either
  auto now = record();
  CHECK(now.index() == 2);
  CHECK(now.value()(0, 0) == std::exp(2.0));
  CHECK_THROWS_WITH(old.value(), Catch::Contains("stale handle"));
  CHECK_THROWS_WITH(old.index(), Catch::Contains("stale handle"));
  CHECK_THROWS_WITH(exp(old), Catch::Contains("stale handle"));
  CHECK_THROWS_WITH(t.backward(old), Catch::Contains("stale handle"));
  CHECK_THROWS_WITH(Var<double>().index(), Catch::Contains("belongs to no tape"));
  // Nodes recorded after a handle do not make it stale.
  auto later = now * 3.0;
  t.backward(later);
  CHECK(p.grad(0, 0) == Approx(6.0 * std::exp(2.0)));
}

TEST_CASE("a Var that outlives its tape is an error, also when a new tape takes its place",
          "[tape][errors]") {
  // The tape's storage is reused for the next one (same address, as in a loop): the old handle must not
  // pass as one of the new tape's nodes, and must not read the destroyed tape (ASan checks that here).
  alignas(Tape<double>) unsigned char storage[sizeof(Tape<double>)];
  auto* t1 = new (storage) Tape<double>;
  Var<double> old = t1->constant(M::Ones(2, 2));
  Var<double> copy = old;  // several handles share the tape's identity
  t1->~Tape();
  CHECK_THROWS_MATCHES(old.value(), TapeError,
                       Catch::Message("tapegrad: use of a Var whose tape has been destroyed"));
  CHECK_THROWS_AS(copy.rows(), TapeError);
  CHECK_THROWS_AS(exp(old), TapeError);
  CHECK_THROWS_AS(old.tape(), TapeError);
  auto* t2 = new (storage) Tape<double>;
  REQUIRE(static_cast<void*>(t2) == static_cast<void*>(t1));
  auto fresh = t2->constant(M::Ones(2, 2));  // node 0, like the old handle
  CHECK(fresh.index() == 0);
  CHECK_THROWS_AS(old.value(), TapeError);
  CHECK_THROWS_WITH(t2->backward(old), Catch::Contains("a tape that has been destroyed"));
  CHECK_THROWS_WITH(matmul(fresh, copy), Catch::Contains("tape"));
  // Handles may be dropped in any order relative to their tape; a moved-from handle belongs to no tape.
  Var<double> moved = std::move(copy);
  CHECK_THROWS_WITH(copy.value(), Catch::Contains("belongs to no tape"));
  CHECK_THROWS_AS(moved.value(), TapeError);
  t2->~Tape();
  CHECK_THROWS_AS(fresh.value(), TapeError);
}

TEST_CASE("backward of a non-scalar needs the root gradient, of its shape", "[tape][errors]") {
  Parameter<double> p(M::Ones(2, 3));
  Tape<double> t;
  auto y = square(t.parameter(p));
  CHECK_THROWS_WITH(t.backward(y), Catch::Contains("backward: the root is 2x3, not 1x1") &&
                                       Catch::Contains("pass the root's gradient, of its shape"));
  CHECK_THROWS_AS(t.backward(y, M::Ones(3, 2)), ShapeError);
  CHECK_THROWS_WITH(t.backward(y, M::Ones(3, 2)), "backward: the root's gradient is 3x2 but the root is 2x3");
  t.backward(y, M::Ones(2, 3));
  CHECK(p.grad.isApprox(M::Constant(2, 3, 2.0)));
}

TEST_CASE("forward() replays a recorded graph on new parameter values", "[tape]") {
  Parameter<double> p(M::Constant(2, 2, 1.0));
  Tape<double> t;
  auto target = t.constant(M::Identity(2, 2));
  auto l = mse(matmul(t.parameter(p), t.parameter(p)), target);
  p.value << 1, 2, 3, 4;
  t.forward();
  Tape<double> fresh;
  auto l2 = mse(matmul(fresh.parameter(p), fresh.parameter(p)), fresh.constant(M::Identity(2, 2)));
  CHECK(l.value()(0, 0) == l2.value()(0, 0));
  t.backward(l);
  const M g = p.grad;
  p.zero_grad();
  fresh.backward(l2);
  CHECK(g == p.grad);
  t.set_constant(target, M::Zero(2, 2));
  t.forward();
  CHECK(l.value()(0, 0) == Approx((p.value * p.value).squaredNorm() / 4));
  CHECK_THROWS_AS(t.set_constant(target, M::Zero(3, 3)), ShapeError);
}

TEST_CASE("anomaly detection names the op that first produced a non-finite value", "[tape][anomaly]") {
  Parameter<double> p(M::Constant(2, 2, -1.0));
  Tape<double> t;
  t.set_anomaly_detection(true);
  auto x = t.parameter(p);
  CHECK_THROWS_WITH(exp(log(x)), Catch::Contains("log (node 1") && Catch::Contains("forward"));
  t.clear();
  p.value.setZero();
  auto s = sqrt(t.parameter(p));  // finite forward (0), infinite derivative
  auto l = sum(s);
  CHECK_THROWS_WITH(t.backward(l), Catch::Contains("sqrt (node 1") && Catch::Contains("backward"));
  // Off by default: NaNs flow silently.
  Tape<double> quiet;
  CHECK_NOTHROW(log(quiet.constant(M::Constant(1, 1, -1.0))));
}

TEST_CASE("a node's value stays valid while more nodes are recorded", "[tape]") {
  Tape<double> t;
  auto a = t.constant(M::Constant(2, 2, 3.0));
  const M& ref = a.value();
  for (int i = 0; i < 10'000; ++i) a = a + 0.0;
  CHECK(ref(1, 1) == 3.0);
}

TEST_CASE("the backward plan follows the root, more recording and clears", "[tape]") {
  // backward() reuses the last sweep's plan while the recording and the root are the same; every change
  // must give what a fresh tape gives.
  Parameter<double> a(M::Constant(2, 2, 0.5)), b(M::Constant(2, 2, -1.5));
  auto fresh = [&](int which) {
    Parameter<double> x(a.value), y(b.value);
    Tape<double> t;
    auto u = matmul(t.parameter(x), t.parameter(y));
    auto l1 = sum(square(u));
    auto l2 = mean(u * 3.0);
    t.backward(which == 1 ? l1 : l2);
    return std::pair{x.grad, y.grad};
  };
  Tape<double> t;
  auto u = matmul(t.parameter(a), t.parameter(b));
  auto l1 = sum(square(u));
  t.backward(l1);
  t.backward(l1);  // replayed plan: twice the gradient
  CHECK(a.grad.isApprox(2 * fresh(1).first));
  CHECK(b.grad.isApprox(2 * fresh(1).second));
  a.zero_grad(), b.zero_grad();
  auto l2 = mean(u * 3.0);  // recorded after the plan was made
  t.backward(l2);
  CHECK(a.grad.isApprox(fresh(2).first));
  CHECK(b.grad.isApprox(fresh(2).second));
  a.zero_grad(), b.zero_grad();
  t.backward(l1);  // back to the first root
  CHECK(a.grad.isApprox(fresh(1).first));
  a.zero_grad(), b.zero_grad();
  // A different graph with as many nodes, after a clear: only a's path this time.
  t.clear();
  auto v = t.parameter(a);
  auto w = t.constant(b.value);
  auto m = matmul(w, v);
  auto l3 = sum(square(m));
  t.backward(l3);
  CHECK(b.grad.isZero());
  CHECK(a.grad.isApprox(2 * b.value.transpose() * (b.value * a.value)));
  // An intermediate node's gradient is that of this sweep, not the last one's.
  CHECK(m.grad().isApprox(2 * (b.value * a.value)));
}

TEST_CASE("reused nodes take the new recording's shapes; sweeps from several roots agree", "[tape]") {
  // clear() keeps the nodes' buffers, and recording skips resizing a buffer whose shape is unchanged;
  // every other shape must be resized. A sweep resets only the marks an earlier sweep of the same
  // recording left. Each result is compared with a fresh tape's.
  auto graph = [](Tape<double>& t, Parameter<double>& x, Parameter<double>& y, int root) {
    auto a = t.parameter(x) * 2.0;
    auto b = sum(matmul(a, t.parameter(y)));
    auto c = mean(square(a)) + sum(t.parameter(y));
    t.backward(root == 0 ? b : c);
  };
  auto fresh = [&](const M& xv, const M& yv, int root) {
    Parameter<double> x(xv), y(yv);
    Tape<double> t;
    graph(t, x, y, root);
    return std::pair{x.grad, y.grad};
  };
  Tape<double> t;
  for (auto [rows, inner, cols] : {std::tuple{2, 3, 1}, {1, 1, 1}, {4, 2, 3}, {2, 3, 1}}) {
    CAPTURE(rows, inner, cols);
    const M xv = M::Random(rows, inner), yv = M::Random(inner, cols);
    Parameter<double> x(xv), y(yv);
    t.clear();
    for (int root : {0, 1, 0}) {
      x.zero_grad(), y.zero_grad();
      graph(t, x, y, root);  // records more nodes on the same recording each time
      const auto [gx, gy] = fresh(xv, yv, root);
      CHECK(x.grad.isApprox(gx));
      CHECK(y.grad.isApprox(gy));
    }
  }
}

TEST_CASE("constant_view reads the matrix in place and checks its shape", "[tape]") {
  Parameter<double> p(M::Constant(2, 2, 1.0));
  M data = M::Constant(2, 2, 3.0);
  Tape<double> t;
  auto x = t.parameter(p);
  auto view = t.constant_view(data, "data");
  auto l = sum(square(x - view));
  CHECK(&view.value() == &data);  // no copy
  CHECK(l.value()(0, 0) == Approx(16.0));
  // Replayed, it sees the matrix's new entries, like set_constant without the copy.
  data.setConstant(2.0);
  t.forward();
  CHECK(l.value()(0, 0) == Approx(4.0));
  t.backward(l);
  CHECK(p.grad.isApprox(M::Constant(2, 2, -2.0)));
  // The same graph and gradients as a copied constant.
  Parameter<double> q(M::Constant(2, 2, 1.0));
  Tape<double> copy;
  auto lc = sum(square(copy.parameter(q) - copy.constant(data)));
  copy.backward(lc);
  CHECK(lc.value()(0, 0) == l.value()(0, 0));
  CHECK(q.grad == p.grad);
  // A matrix that changed shape is an error on replay, naming the node, not an out-of-bounds read.
  data.resize(3, 3);
  CHECK_THROWS_WITH(t.forward(), Catch::Contains("constant_view node 1 (data)") && Catch::Contains("2x2") &&
                                     Catch::Contains("3x3"));
  CHECK_THROWS_AS(t.backward(l), ShapeError);
  // set_constant gives the node a copy of its own; the view's matrix no longer matters.
  t.set_constant(view, M::Constant(2, 2, 1.0));
  CHECK_NOTHROW(t.forward());
  CHECK(l.value()(0, 0) == Approx(0.0));
}

TEST_CASE("an identity constant re-recorded in place is not rewritten, and is rewritten when needed",
          "[tape]") {
  Tape<double> t;
  auto rerecord = [&](Index n) {
    t.clear();
    return t.constant(M::Identity(n, n), "I");
  };
  CHECK(rerecord(3).value() == M::Identity(3, 3));
  CHECK(rerecord(3).value() == M::Identity(3, 3));
  CHECK(rerecord(4).value() == M::Identity(4, 4));  // another shape
  // The slot held an identity, then an op's output (3I), then an identity again.
  t.clear();
  t.scalar(1.0);
  CHECK(t.constant(M::Identity(4, 4)).value() == M::Identity(4, 4));
  t.clear();
  auto three = t.constant(M::Identity(4, 4)) * 3.0;
  CHECK(three.value() == 3.0 * M::Identity(4, 4));
  t.clear();
  t.scalar(1.0);
  CHECK(t.constant(M::Identity(4, 4)).value() == M::Identity(4, 4));
  // Likewise after a copied constant in the slot.
  t.clear();
  CHECK(t.constant(M::Constant(4, 4, 5.0)).value()(1, 0) == 5.0);
  CHECK(rerecord(4).value() == M::Identity(4, 4));
  // set_constant overwrites it; the next identity recorded there is written again.
  auto i = rerecord(4);
  t.set_constant(i, M::Constant(4, 4, 9.0));
  CHECK(rerecord(4).value() == M::Identity(4, 4));
}

namespace {
// y = p0 x + p1 · object.factor, with p0 x saved in the node's state by the forward and read by the backward
// (dx += p0 dy, checked against the saved value).
struct Factor {
  double factor = 0;
};
constexpr OpDef<double> kAffine{
    "affine_with_state", OpKind::custom,
    [](OpContext<double>& c) {
      c.state() = c.in(0) * c.param(0);
      c.out() = c.state().array() + c.param(1) * c.object<Factor>().factor;
    },
    [](OpContext<double>& c) {
      if (!c.needs_grad(0)) return;
      // The state is what this node's forward saved: p0 x.
      if (c.state().rows() != c.in(0).rows() || !c.state().isApprox(c.in(0) * c.param(0)))
        throw std::logic_error("the saved state was lost");
      c.grad_in(0) += c.grad_out() * c.param(0);
    }};
}  // namespace

// Writes how many entries its node's state holds when it runs.
constexpr OpDef<double> kStateProbe{"state_probe", OpKind::custom,
                                    [](OpContext<double>& c) { c.out()(0, 0) = double(c.state().size()); },
                                    [](OpContext<double>&) {}};

TEST_CASE("an op's parameters, object and state live in its node", "[tape]") {
  Factor f{10};
  Parameter<double> x(M::Constant(2, 3, 1.0));
  Tape<double> t;
  auto record = [&](double p0, double p1, const Factor& obj) {
    t.clear();
    OpParams<double> p;
    p.values = {p0, p1, 0, 0};
    p.object = &obj;
    return t.record(kAffine, {t.parameter(x)}, 2, 3, 0.0, 0, p);
  };
  auto y = record(2, 3, f);
  auto loss = sum(y);
  CHECK(y.value()(1, 2) == 2 * 1 + 3 * 10);
  t.backward(loss);
  CHECK(x.grad.isApprox(M::Constant(2, 3, 2.0)));

  // The object is read on every run; the state is recomputed with the new values.
  f.factor = 20;
  x.value.setConstant(2);
  t.forward();
  CHECK(y.value()(0, 0) == 2 * 2 + 3 * 20);
  x.zero_grad();
  t.backward(loss);
  CHECK(x.grad.isApprox(M::Constant(2, 3, 2.0)));
  // Re-recorded with other parameters (and another object), the node computes with those.
  Factor g{-1};
  auto y2 = record(0.5, 4, g);
  CHECK(y2.value()(0, 1) == 0.5 * 2 + 4 * -1);

  // Two nodes of one op keep their own parameters and state.
  t.clear();
  OpParams<double> a, b;
  a.values = {1, 0, 0, 0};
  b.values = {3, 1, 0, 0};
  a.object = b.object = &f;
  auto X = t.parameter(x);
  auto ya = t.record(kAffine, {X}, 2, 3, 0.0, 0, a), yb = t.record(kAffine, {X}, 2, 3, 0.0, 0, b);
  x.zero_grad();
  t.backward(sum(ya) + sum(yb));
  CHECK(ya.value()(0, 0) == 2);
  CHECK(yb.value()(0, 0) == 6 + 20);
  CHECK(x.grad.isApprox(M::Constant(2, 3, 4.0)));

  // A node recorded with another op does not see the state its previous op left (softmax's work space).
  t.clear();
  auto sm = rowwise_softmax(t.parameter(x));
  CHECK(sm.value().rows() == 2);
  t.clear();
  auto probe = t.record(kStateProbe, {t.parameter(x)}, 1, 1);
  CHECK(probe.value()(0, 0) == 0);
}
