// libFuzzer target: the CSV reader (tapegrad::svd::parse_csv) on arbitrary bytes. See fuzz_common.hpp.
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return tapegrad::fuzz::run(
      data, size,
      [](std::string_view b, const std::string& name, const tapegrad::svd::ReadLimits& l) {
        return tapegrad::svd::parse_csv(b, name, l);
      },
      /*text=*/true);
}
