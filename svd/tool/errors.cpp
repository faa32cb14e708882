// How an exception becomes tapegrad-svd's exit code and message. See errors.hpp.
#include "errors.hpp"

#include "options.hpp"

#include <exception>
#include <new>

#include "tapegrad/autodiff/tape.hpp"
#include "tapegrad/io/errors.hpp"
#include "tapegrad/svd/solver.hpp"

namespace tapegrad::svd::tool {

Failure current_failure() {
  try {
    throw;
  } catch (const UsageError& e) {
    return {kExitUsage, e.message};
  } catch (const io::ParseError& e) {
    return {kExitUsage, e.what()};
  } catch (const SvdOptionError& e) {
    // The library names the SvdOptions field; the command line names the option.
    if (e.field().empty()) return {kExitUsage, e.what()};
    return {kExitUsage, option_of_field(e.field()) + ": " + e.detail()};
  } catch (const io::IoError& e) {
    return {kExitUsage, std::string("cannot write the results: ") + e.what()};
  } catch (const NonFiniteError& e) {
    return {kExitDiverged, std::string("diverged: ") + e.what() + "\nTry a smaller --lr."};
  } catch (const std::bad_alloc&) {
    return {kExitInternal, "out of memory"};
  } catch (const std::exception& e) {
    return {kExitInternal, std::string("internal error: ") + e.what()};
  }
}

}  // namespace tapegrad::svd::tool
