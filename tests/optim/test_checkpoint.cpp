// Save / restore: 2N steps and N steps + checkpoint + load into fresh parameters and a fresh optimizer
// + N steps give bit-identical parameters; damaged or mismatched checkpoints give clear errors and
// change nothing.
#include <catch2/catch.hpp>

#include <unistd.h>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "tapegrad/autodiff.hpp"
#include "tapegrad/optim.hpp"

using namespace tapegrad;
using namespace tapegrad::optim;
namespace fs = std::filesystem;

namespace {

template <class T>
bool same_bits(const Matrix<T>& a, const Matrix<T>& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::memcmp(a.data(), b.data(), sizeof(T) * static_cast<std::size_t>(a.size())) == 0;
}

/// A scratch file path unique to this process and test.
struct TempFile {
  explicit TempFile(const std::string& tag)
      : path((fs::temp_directory_path() /
              ("tapegrad_optim_" + std::to_string(::getpid()) + "_" + tag + ".ckpt"))
                 .string()) {}
  ~TempFile() {
    std::error_code ec;
    fs::remove(path, ec);
    fs::remove(path + ".tmp", ec);
  }
  std::string path;
};

/// The reference problem: A 3x2, b 1x2, loss = mean(square(X A + b − Y)) + 0.1·sum(tanh(A)).
template <class T>
struct Problem {
  Parameter<T> a, b;
  Matrix<T> x, y;
  Problem() {
    x = Matrix<T>(4, 3);
    x << T(1.5), T(-0.3), T(0.2), T(0.4), T(0.9), T(-1.1), T(-0.7), T(0.05), T(0.6), T(0.3), T(-0.8), T(1.2);
    y = Matrix<T>(4, 2);
    y << T(0.2), T(-1.0), T(0.7), T(0.1), T(-0.4), T(0.9), T(1.3), T(-0.2);
    Matrix<T> a0(3, 2), b0(1, 2);
    a0 << T(0.37), T(1.45), T(0.93), T(0.77), T(0.19), T(1.26);
    b0 << T(-1.29), T(-0.79);
    a = Parameter<T>(a0, "A");
    b = Parameter<T>(b0, "b");
  }
  void steps(Optimizer<T>& opt, int n) {
    Tape<T> t;
    auto A = t.parameter(a), B = t.parameter(b);
    auto loss = mean(square(sub(add(matmul(t.constant(x), A), B), t.constant(y)))) + T(0.1) * sum(tanh(A));
    for (int k = 0; k < n; ++k) {
      if (k) t.forward();
      opt.zero_grad();
      t.backward(loss);
      opt.step();
    }
  }
  std::vector<Parameter<T>*> params() { return {&a, &b}; }
};

template <class T>
std::unique_ptr<Optimizer<T>> make(const std::string& kind, std::vector<Parameter<T>*> ps) {
  if (kind == "sgd") {
    SgdOptions o;
    o.lr = 0.05;
    o.momentum = 0.9;
    o.dampening = 0.1;
    o.weight_decay = 1e-3;
    return std::make_unique<Sgd<T>>(ps, o);
  }
  if (kind == "adam") {
    AdamOptions o;
    o.lr = 0.02;
    o.amsgrad = true;
    o.weight_decay = 1e-3;
    return std::make_unique<Adam<T>>(ps, o);
  }
  AdamWOptions o;
  o.lr = 0.02;
  o.amsgrad = true;
  return std::make_unique<AdamW<T>>(ps, o);
}

template <class T>
void check_resume(const std::string& kind) {
  constexpr int n = 17;
  Problem<T> straight;
  auto opt1 = make<T>(kind, straight.params());
  straight.steps(*opt1, 2 * n);

  TempFile file(kind + (sizeof(T) == 4 ? "_f" : "_d"));
  {
    Problem<T> first;
    auto opt = make<T>(kind, first.params());
    first.steps(*opt, n);
    save_checkpoint(file.path, *opt);
  }
  CHECK_FALSE(fs::exists(file.path + ".tmp"));
  Problem<T> resumed;  // fresh parameters, overwritten by the checkpoint
  resumed.a.value.setConstant(T(42));
  resumed.b.value.setConstant(T(-42));
  auto opt2 = make<T>(kind, resumed.params());
  opt2->set_lr(1.0);  // overwritten by the checkpoint too
  load_checkpoint(file.path, *opt2);
  CHECK(opt2->lr() == opt1->lr());
  resumed.steps(*opt2, n);
  CHECK(same_bits(straight.a.value, resumed.a.value));
  CHECK(same_bits(straight.b.value, resumed.b.value));
}

}  // namespace

TEMPLATE_TEST_CASE("resume from a checkpoint is bit-identical: SGD with momentum", "[optim][checkpoint]",
                   float, double) {
  check_resume<TestType>("sgd");
}
TEMPLATE_TEST_CASE("resume from a checkpoint is bit-identical: Adam with amsgrad", "[optim][checkpoint]",
                   float, double) {
  check_resume<TestType>("adam");
}
TEMPLATE_TEST_CASE("resume from a checkpoint is bit-identical: AdamW", "[optim][checkpoint]", float, double) {
  check_resume<TestType>("adamw");
}

TEST_CASE("save_state / load_state through a stream restore the state exactly", "[optim][checkpoint]") {
  Problem<double> p1, p2;
  auto o1 = make<double>("adam", p1.params());
  p1.steps(*o1, 5);
  std::stringstream s;
  o1->save_state(s);
  p2.a.value = p1.a.value;
  p2.b.value = p1.b.value;
  auto o2 = make<double>("adam", p2.params());
  o2->load_state(s);
  CHECK(static_cast<Adam<double>&>(*o2).step_count(0) == 5);
  p1.steps(*o1, 3);
  p2.steps(*o2, 3);
  CHECK(same_bits(p1.a.value, p2.a.value));
}

TEST_CASE("damaged, missing or mismatched checkpoints are refused with the file named",
          "[optim][checkpoint]") {
  TempFile file("damaged");
  Problem<double> p;
  auto sgd = make<double>("sgd", p.params());
  p.steps(*sgd, 3);
  save_checkpoint(file.path, *sgd);
  std::string bytes;
  {
    std::ifstream in(file.path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  auto write = [&](const std::string& content) {
    std::ofstream out(file.path, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
  };
  Problem<double> q;
  const Matrix<double> a_before = q.a.value;
  auto fresh = make<double>("sgd", q.params());
  const auto unchanged = [&] { CHECK(same_bits(q.a.value, a_before)); };

  SECTION("a flipped byte") {
    std::string bad = bytes;
    bad[bad.size() / 2] = static_cast<char>(bad[bad.size() / 2] ^ 0x10);
    write(bad);
    CHECK_THROWS_WITH(load_checkpoint(file.path, *fresh),
                      Catch::Contains(file.path) && Catch::Contains("checksum"));
    unchanged();
  }
  SECTION("a truncated file") {
    write(bytes.substr(0, bytes.size() - 20));
    CHECK_THROWS_AS(load_checkpoint(file.path, *fresh), StateError);
    write(bytes.substr(0, 5));
    CHECK_THROWS_WITH(load_checkpoint(file.path, *fresh), Catch::Contains("not a tapegrad checkpoint"));
    unchanged();
  }
  SECTION("a missing file") {
    CHECK_THROWS_WITH(load_checkpoint(file.path + ".nope", *fresh),
                      Catch::Contains(file.path + ".nope") && Catch::Contains("cannot open"));
  }
  SECTION("another optimizer") {
    auto adam = make<double>("adam", q.params());
    CHECK_THROWS_WITH(load_checkpoint(file.path, *adam),
                      Catch::Contains("'sgd'") && Catch::Contains("'adam'"));
    unchanged();
  }
  SECTION("other shapes") {
    Parameter<double> a(Matrix<double>::Zero(2, 2), "A"), b(Matrix<double>::Zero(1, 2), "b");
    Sgd<double> other({&a, &b}, {});
    CHECK_THROWS_WITH(load_checkpoint(file.path, other), Catch::Contains("3x2") && Catch::Contains("2x2"));
    CHECK(a.value.isZero(0));
  }
  SECTION("another parameter count") {
    Sgd<double> other({&q.a}, {});
    CHECK_THROWS_WITH(load_checkpoint(file.path, other), Catch::Contains("2 parameters"));
  }
  SECTION("another scalar type") {
    Problem<float> f;
    auto opt = make<float>("sgd", f.params());
    CHECK_THROWS_WITH(load_checkpoint(file.path, *opt),
                      Catch::Contains("double") && Catch::Contains("float"));
  }
  SECTION("other parameter groups") {
    Sgd<double> other({&q.a}, {});
    other.add_param_group({&q.b}, {});
    std::stringstream s;
    sgd->save_state(s);
    CHECK_THROWS_WITH(other.load_state(s), Catch::Contains("1 parameter groups, the optimizer has 2"));
  }
  SECTION("a state stream cut short") {
    std::stringstream s;
    sgd->save_state(s);
    std::stringstream cut(s.str().substr(0, s.str().size() - 8));
    CHECK_THROWS_WITH(fresh->load_state(cut), Catch::Contains("truncated"));
    // Nothing changed: a step from here equals a step of a never-loaded optimizer.
    Problem<double> r;
    auto ref = make<double>("sgd", r.params());
    q.steps(*fresh, 2);
    r.steps(*ref, 2);
    CHECK(same_bits(q.a.value, r.a.value));
  }
}

TEST_CASE("save_checkpoint reports an unwritable path", "[optim][checkpoint]") {
  Problem<double> p;
  auto sgd = make<double>("sgd", p.params());
  CHECK_THROWS_WITH(save_checkpoint("/nonexistent-dir/x.ckpt", *sgd),
                    Catch::Contains("/nonexistent-dir/x.ckpt"));
}
