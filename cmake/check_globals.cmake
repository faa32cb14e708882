# No process-wide mutable state in the libraries (docs/architecture.md): an op keeps what it needs in its node
# (OpParams, OpContext::state), the MPI collectives in their Context. Run as
#   cmake -DROOT=<source tree> -P check_globals.cmake
# It reads every source and header of the libraries (autodiff, optim, io, svd without its tool, mpi, the bench
# helper) and fails, naming the file and the line, on
#   - a thread_local variable;
#   - a static variable that is not const or constexpr (in a function or a class);
#   - a variable at namespace scope (a declaration at the start of a line, as clang-format leaves those) that
#     is not const or constexpr: `int counter = 0;`, `std::atomic<const T*> active{nullptr};`.
# Constants, functions and their declarations pass. A line-based check of formatted code: it does not parse
# C++, but every form above, as clang-format writes it, is caught (tests/layers/globals.cmake shows it).
cmake_minimum_required(VERSION 3.25)
if(NOT ROOT)
  message(FATAL_ERROR "check_globals.cmake: set ROOT to the source tree")
endif()

include(${CMAKE_CURRENT_LIST_DIR}/library_files.cmake)

set(violations "")
set(checked 0)
set(ident "[A-Za-z_][A-Za-z0-9_]*")
foreach(lib IN LISTS TAPEGRAD_LIBRARIES)
  library_files(${lib} files)
  foreach(f IN LISTS files)
    file(RELATIVE_PATH rel "${ROOT}" "${f}")
    math(EXPR checked "${checked} + 1")
    # One list entry per line: ';' is CMake's list separator and brackets group entries, so both are
    # replaced first (subscripts and attributes [[...]] go; a semicolon becomes @SEMI@).
    file(READ "${f}" text)
    string(REGEX REPLACE "\\[[^]\n]*\\]" "" text "${text}")
    string(REPLACE ";" "@SEMI@" text "${text}")
    string(REPLACE "\n" ";" lines "${text}")
    set(n 0)
    foreach(line IN LISTS lines)
      math(EXPR n "${n} + 1")
      string(REPLACE "@SEMI@" ";" line "${line}")
      string(REGEX REPLACE "//.*$" "" code "${line}")  # comments say what they like
      string(REGEX REPLACE "\"([^\"\\\\]|\\\\.)*\"" "\"\"" code "${code}")  # so do strings
      # What a declaration declares: the text before its initialiser. A '(' there makes it a function.
      string(REGEX REPLACE "[ \t]*(=|\\{).*$" "" head "${code}")
      set(what "")
      if(code MATCHES "(^|[^A-Za-z0-9_])thread_local([^A-Za-z0-9_]|$)")
        set(what "a thread_local variable")
      elseif(code MATCHES "^[ \t]*(inline[ \t]+)?static[ \t]+" AND NOT code MATCHES
                                                                  "^[ \t]*(inline[ \t]+)?static[ \t]+(const|constexpr)[ \t]"
             AND NOT head MATCHES "\\(" AND code MATCHES ";[ \t]*$")
        set(what "a static variable that is not const")
      elseif(code MATCHES "^${ident}[^;()]*[ \t*&]${ident}[ \t]*(=[^=].*|\\{.*\\})?;[ \t]*$"
             AND NOT head MATCHES "\\("
             AND NOT code MATCHES
                     "^(const|constexpr|inline|using|typedef|template|extern[ \t]+template|friend|return|class|struct|union|enum|namespace|static_assert|static[ \t]+(const|constexpr))[ \t]")
        set(what "a mutable variable at namespace scope")
      endif()
      if(what)
        string(STRIP "${line}" shown)
        string(APPEND violations "\n  ${rel}:${n}: ${what}: ${shown}")
      endif()
    endforeach()
  endforeach()
endforeach()

if(violations)
  message(FATAL_ERROR "process-wide mutable state in a library (keep it in the node, the Context or the "
                      "object that owns it):${violations}")
endif()
message(STATUS "no process-wide mutable state in the ${checked} library files")
