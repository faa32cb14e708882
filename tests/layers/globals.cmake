# Trees with one kind of process-wide mutable state each: the globals check must fail and name it; on a
# tree of constants, functions and per-object state it must pass.
#   cmake -DCHECKER=check_globals.cmake -DWORK=dir -P globals.cmake
cmake_minimum_required(VERSION 3.25)
set(DEFECT "mutable global state")
include(${CMAKE_CURRENT_LIST_DIR}/expect_check.cmake)

file(REMOVE_RECURSE ${WORK})
# Clean: constants, constexpr tables, functions (declared and defined, static ones too), static constexpr
# members, a function-local static const, mutable members of a class (per object), comments and strings
# that mention the forbidden forms, and a tool (a program) with a global.
file(WRITE ${WORK}/clean/autodiff/src/ops.cpp [=[
namespace tapegrad {
constexpr int kRows = 4;
const double kTolerance = 1e-12;
inline constexpr char kName[] = "op";
int twice(int x);
static int thrice(int x) { return 3 * x; }
std::vector<int> sizes(const Shape& s);
struct Cache {
  static constexpr int kSize = 8;
  static int size(int n);
  std::vector<double> buffer;  // per object
  mutable long hits = 0;
};
const Table& active() {
  static const Table& chosen = table_for(best());  // chosen once, never changed
  return chosen;
}
// a comment: int counter = 0; thread_local std::vector<int> buffer;
const char* message = "static int n = 0;";
template class Tape<float>;
extern template class Tape<double>;
using Index = long;
}  // namespace tapegrad
]=])
file(WRITE ${WORK}/clean/svd/tool/main.cpp "volatile int g_signal = 0;\n")
expect_check(${WORK}/clean TRUE "")

# refused(<case> <file> <text> <pattern>): the clean tree with <text> appended to <file> fails, naming
# <pattern>.
function(refused name file text pattern)
  file(COPY ${WORK}/clean/ DESTINATION ${WORK}/${name})
  file(APPEND ${WORK}/${name}/${file} "${text}")
  expect_check(${WORK}/${name} FALSE "${pattern}")
endfunction()

refused(counter autodiff/src/ops.cpp "int g_calls = 0;\n"  # a counter at namespace scope
        "autodiff/src/ops.cpp:[0-9]+: a mutable variable at namespace scope: int g_calls")
refused(atomic autodiff/src/ops.cpp "std::atomic<const Table*> g_active{nullptr};\n"  # a dispatch pointer
        "a mutable variable at namespace scope: std::atomic<const Table\\*> g_active")
refused(thread autodiff/src/ops.cpp  # a per-thread scratch buffer
        "T* scratch(long n) {\n  thread_local std::vector<T> buffer;\n  return buffer.data();\n}\n"
        "autodiff/src/ops.cpp:[0-9]+: a thread_local variable")
refused(static_local autodiff/src/ops.cpp "void f() {\n  static std::vector<double> cache;\n}\n"  # a cache
        "a static variable that is not const: static std::vector<double> cache")
refused(member mpi/include/context.hpp  # a mutable static data member, in a header of another library
        "class Context {\n  static Context* current_;\n};\n" "mpi/include/context.hpp:2: a static variable that is not const")
file(REMOVE_RECURSE ${WORK})
message(STATUS "mutable global state: each form refused and named")
