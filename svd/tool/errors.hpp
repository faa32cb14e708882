// tapegrad-svd's exit codes, and how an exception becomes one (the --help text's EXIT CODES).
#pragma once

#include <string>

namespace tapegrad::svd::tool {

inline constexpr int kExitOk = 0, kExitNotConverged = 1, kExitUsage = 2, kExitDiverged = 3, kExitInternal = 4;

/// Bad usage or bad input: exit code 2, the message names the option or the file.
struct UsageError {
  std::string message;
};

/// How a run ends early: its exit code and its message (printed as "tapegrad-svd: <message>").
struct Failure {
  int code = kExitInternal;
  std::string message;
};

/// The Failure for the exception being handled (call it in a catch block).
Failure current_failure();

}  // namespace tapegrad::svd::tool
