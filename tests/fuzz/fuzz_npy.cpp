// libFuzzer target: the .npy reader (tapegrad::io::parse_npy) on arbitrary bytes. See fuzz_common.hpp.
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return tapegrad::fuzz::run(
      data, size,
      [](std::string_view b, const std::string& name, const tapegrad::io::ReadLimits& l) {
        return tapegrad::io::parse_npy(b, name, l);
      },
      /*text=*/false);
}
