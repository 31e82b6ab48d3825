// libFuzzer target: ParseNpz on arbitrary bytes (sim/workload/io/npz.h).
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_check.h"
#include "sim/workload/io/npz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    for (const auto& [name, a] : hsr::sim::ParseNpz({data, size}, "fuzz.npz")) {
      size_t n = 1;
      for (const size_t s : a.shape) n *= s;
      hsr::fuzz::Require(n == a.data.size(), "ParseNpz: data.size() == product(shape)");
    }
  } catch (const hsr::Error& e) {
    hsr::fuzz::CheckError(e);
  }
  return 0;
}
