# Trees with one kind of process-wide mutable state each: the globals check must fail and name it; on a
# tree of constants, functions and per-object state it must pass.
#   cmake -DCHECKER=check_globals.cmake -DWORK=dir -P globals.cmake
cmake_minimum_required(VERSION 3.25)
function(expect_check tree ok pattern)
  execute_process(COMMAND ${CMAKE_COMMAND} -DROOT=${tree} -P ${CHECKER} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                  ERROR_VARIABLE err)
  if(ok AND NOT rc EQUAL 0)
    message(FATAL_ERROR "the check failed on a clean tree ${tree}: ${err}")
  endif()
  if(NOT ok AND rc EQUAL 0)
    message(FATAL_ERROR "the check passed on ${tree}, which has mutable global state (${pattern})")
  endif()
  if(NOT ok AND NOT err MATCHES "${pattern}")
    message(FATAL_ERROR "the check failed on ${tree} without naming '${pattern}': ${err}")
  endif()
endfunction()

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

# A counter at namespace scope.
file(COPY ${WORK}/clean/ DESTINATION ${WORK}/counter)
file(APPEND ${WORK}/counter/autodiff/src/ops.cpp "int g_calls = 0;\n")
expect_check(${WORK}/counter FALSE "autodiff/src/ops.cpp:[0-9]+: a mutable variable at namespace scope: int g_calls")

# A dispatch pointer, brace-initialised.
file(COPY ${WORK}/clean/ DESTINATION ${WORK}/atomic)
file(APPEND ${WORK}/atomic/autodiff/src/ops.cpp "std::atomic<const Table*> g_active{nullptr};\n")
expect_check(${WORK}/atomic FALSE "a mutable variable at namespace scope: std::atomic<const Table\\*> g_active")

# A per-thread scratch buffer.
file(COPY ${WORK}/clean/ DESTINATION ${WORK}/thread)
file(APPEND ${WORK}/thread/autodiff/src/ops.cpp "T* scratch(long n) {\n  thread_local std::vector<T> buffer;\n  return buffer.data();\n}\n")
expect_check(${WORK}/thread FALSE "autodiff/src/ops.cpp:[0-9]+: a thread_local variable")

# A function-local static cache.
file(COPY ${WORK}/clean/ DESTINATION ${WORK}/static_local)
file(APPEND ${WORK}/static_local/autodiff/src/ops.cpp "void f() {\n  static std::vector<double> cache;\n}\n")
expect_check(${WORK}/static_local FALSE "a static variable that is not const: static std::vector<double> cache")

# A mutable static data member, in a header of another library.
file(MAKE_DIRECTORY ${WORK}/member/mpi/include)
file(COPY ${WORK}/clean/ DESTINATION ${WORK}/member)
file(WRITE ${WORK}/member/mpi/include/context.hpp "class Context {\n  static Context* current_;\n};\n")
expect_check(${WORK}/member FALSE "mpi/include/context.hpp:2: a static variable that is not const")
file(REMOVE_RECURSE ${WORK})
message(STATUS "mutable global state: each form refused and named")
