// docs/pytorch-users.md: PyTorch's names beside tapegrad's, each line run and checked here.
#include <cmath>
#include <cstdio>
#include <sstream>
#include <tapegrad/autodiff.hpp>
#include <tapegrad/optim.hpp>
using namespace tapegrad;
using M = Matrix<double>;

static int failures = 0;
static void check(bool ok, const char* what) {
  if (!ok) std::printf("FAILED: %s\n", what), ++failures;
}

int main() {
  M x0(2, 3);
  x0 << 1, 2, 3, 4, 5, 6;
  // w = torch.tensor(..., requires_grad=True)      a Parameter: a matrix with its gradient, outside any tape
  Parameter<double> w(x0, "w");
  Tape<double> tape;           // records the graph: one tape per thread, cleared and re-recorded each step
  auto x = tape.parameter(w);  // the parameter's node on this tape
  // data = torch.tensor(...)  (no requires_grad)   a constant: no gradient is computed through it
  auto data = tape.constant(M::Ones(2, 3), "data");
  // with torch.no_grad(): y = data * 2             nodes made from constants only need no gradient
  auto y = data * 2;
  check(!y.needs_grad() && x.needs_grad(), "constants need no gradient");

  // x.sum(dim=0), x.sum(dim=1), x.sum(), x.mean()
  check(colwise_sum(x).value() == x0.colwise().sum(), "colwise_sum is sum(dim=0): 1 x cols");
  check(rowwise_sum(x).value() == x0.rowwise().sum(), "rowwise_sum is sum(dim=1): rows x 1");
  check(sum(x).item() == 21 && mean(x).item() == 3.5, "sum, mean");
  // x.T, x @ y.T, x * y (elementwise), x * 2, 1 - x, x ** 2
  check(transpose(x).value() == x0.transpose(), "transpose is .T");
  check(matmul(x, transpose(y)).value() == x0 * M::Constant(3, 2, 2.0), "matmul is @");
  check(mul(x, y).value() == 2 * x0, "mul is elementwise *");
  check((1 - x * 2).value() == (1 - 2 * x0.array()).matrix(), "scalars on either side");
  check(pow(x, 2).value().isApprox(x0.array().square().matrix()), "pow is **");
  // loss.item()
  auto loss = sum(pow(x, 2)) / 2;
  check(std::abs(loss.item() - 45.5) < 1e-12, "item() reads a 1x1 node");
  // print(x)
  std::ostringstream printed;
  printed << x;
  check(printed.str() == "Var 2x3 parameter:\n  1 2 3\n  4 5 6", "operator<< shows shape, op and value");

  // loss.backward(); w.grad                         gradients accumulate into Parameter::grad
  tape.backward(loss);
  check(w.grad.isApprox(x0), "d(sum(x^2)/2)/dx = x");
  // an intermediate's .grad (retain_grad())         any node's gradient from the last backward
  auto h = tape.parameter(w) * 3;
  auto l2 = sum(h);
  tape.backward(l2);
  check(h.grad() == M::Ones(2, 3), "Var::grad() of an intermediate");
  check(w.grad.isApprox(x0 + M::Constant(2, 3, 3.0)), "accumulated: x + 3");
  // w.grad.zero_()
  w.zero_grad();
  check(w.grad.isZero(), "zero_grad");

  // torch.compile(model)                            the graph optimizer, on by default
  // (docs/graph-optimizer.md) the eager graph, exactly as written: tape.set_graph_optimization(false)
  // torch.autograd.set_detect_anomaly(True)         tape.set_anomaly_detection(true)
  Tape<double> eager;
  eager.set_graph_optimization(false);
  eager.set_anomaly_detection(true);
  check(!eager.graph_optimization() && eager.anomaly_detection(), "eager tape with anomaly detection");

  // New data on the same graph: PyTorch re-runs the Python; tapegrad replays the recorded graph.
  // pred = X @ w; ... for each batch X            tape.set_constant(X, batch); tape.forward();
  // tape.backward(...)
  Parameter<double> v(M::Ones(3, 1));
  Tape<double> replay;
  auto X = replay.constant(M::Zero(4, 3), "X");
  auto pred = sum(matmul(X, replay.parameter(v)));
  for (int batch = 1; batch <= 2; ++batch) {
    replay.set_constant(X, M::Constant(4, 3, batch));
    replay.forward();
    v.zero_grad();
    replay.backward(pred);
    check(pred.item() == 12.0 * batch && v.grad == M::Constant(3, 1, 4.0 * batch), "set_constant + forward");
  }

  // torch.optim.SGD / Adam / AdamW(params, lr=...)  optim::Sgd / Adam / AdamW({&p, ...}, {.lr = ...})
  // optimizer.zero_grad(); loss.backward(); optimizer.step()
  // torch.optim.lr_scheduler.StepLR(opt, 10, 0.5)   optim::StepLR<double>(opt, 10, 0.5); also ExponentialLR,
  //                                                 CosineAnnealingLR; scheduler.step() once per epoch
  // torch.nn.utils.clip_grad_norm_(params, 1.0)     optim::clip_grad_norm(opt, 1.0)
  // F.mse_loss(pred, target)                        mse(pred, target)
  Parameter<double> a(M::Zero(2, 2));
  const M target = M::Identity(2, 2);
  optim::Adam<double> adam({&a}, {.lr = 0.1});
  optim::StepLR<double> schedule(adam, 50, 0.5);
  Tape<double> fit;
  for (int step = 0; step < 300; ++step) {
    fit.clear();
    auto l = mse(fit.parameter(a), fit.constant(target));
    adam.zero_grad();
    fit.backward(l);
    optim::clip_grad_norm(adam, 1.0);
    adam.step();
    schedule.step();
  }
  check((a.value - target).norm() < 1e-3, "Adam + StepLR + clipping fit the target");
  check(std::abs(adam.lr() - 0.1 * std::pow(0.5, 6)) < 1e-15, "StepLR halved the lr every 50 steps");

  // torch.optim.LBFGS(params) with opt.step(closure)  optim::Lbfgs: step(closure, loss at the current point)
  Parameter<double> z(M::Constant(1, 1, 3.0));
  optim::Lbfgs<double> lbfgs({&z});
  Tape<double> lt;
  auto closure = [&] {  // zeroes and recomputes the gradient, returns the loss
    lt.clear();
    auto l = square(lt.parameter(z) - 1);  // (z - 1)^2
    lbfgs.zero_grad();
    lt.backward(l);
    return l.item();
  };
  double f = closure();
  for (int it = 0; it < 5; ++it) f = lbfgs.step(closure, f);
  check(std::abs(z.value(0, 0) - 1) < 1e-6, "L-BFGS finds the minimum");

  // torch.autograd.gradcheck(f, inputs)             check_gradients(f, inputs)
  auto result = check_gradients(
      [](Tape<double>&, const std::vector<Var<double>>& in) { return sum(exp(in[0])); }, {x0 / 10});
  check(result.ok, "check_gradients");

  std::printf("%s\n", failures ? "some lines FAILED" : "every line checked");
  return failures ? 1 : 0;
}
