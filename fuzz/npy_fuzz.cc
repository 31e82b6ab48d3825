// libFuzzer target: ParseNpy on arbitrary bytes (sim/workload/io/npy.h).
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_check.h"
#include "sim/workload/io/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const hsr::sim::NpyArray a = hsr::sim::ParseNpy({data, size}, "fuzz.npy");
    size_t n = 1;
    for (const size_t s : a.shape) n *= s;
    hsr::fuzz::Require(n == a.data.size(), "ParseNpy: data.size() == product(shape)");
  } catch (const hsr::Error& e) {
    hsr::fuzz::CheckError(e);
  }
  return 0;
}
