// Calls that must not compile, one per MISUSE value 1, 2, ... (0: a control that compiles), each stopped by a
// static_assert whose message says what to write instead (tests/autodiff/misuse/check_misuse.cmake compiles
// each and checks the message).
#include "tapegrad/autodiff.hpp"

using namespace tapegrad;

void misuse(Tape<double>& t, Tape<float>& tf) {
  Var<double> x = t.scalar(1), y = t.scalar(2);
  Var<float> z = tf.scalar(1);
  (void)x, (void)y, (void)z;
#if MISUSE == 0
  auto r = mul(x, 2) + y * 2.0f - 1u + pow(x, 2) / 3;  // the control: scalars of any arithmetic type
#elif MISUSE == 1
  auto r = x * y;  // Var * Var: matmul or mul?
#elif MISUSE == 2
  auto r = x / y;  // Var / Var: div
#elif MISUSE == 3
  auto r = div(x, "2");  // not a number
#elif MISUSE == 4
  auto r = mul(x, Matrix<double>::Ones(2, 2));  // a matrix is not a scalar: make it a constant
#elif MISUSE == 5
  auto r = add(x, z);  // Vars of different scalar types
#elif MISUSE == 6
  auto r = pow(x, true);  // bool is not a scalar operand
#endif
  (void)r;
}
