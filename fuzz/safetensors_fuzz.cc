// libFuzzer target: ParseSafetensors on arbitrary bytes, reading all tensors and then only
// q, k, v (sim/workload/io/safetensors.h).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "sim/workload/io/safetensors.h"

namespace {

void Parse(const uint8_t* data, size_t size, const std::vector<std::string>& names) {
  try {
    const auto f = hsr::sim::ParseSafetensors({data, size}, "fuzz.safetensors", names);
    for (const auto& [name, a] : f.tensors) {
      size_t n = 1;
      for (const size_t s : a.shape) n *= s;
      hsr::fuzz::Require(n == a.data.size(), "ParseSafetensors: data.size() == product(shape)");
    }
    if (!names.empty()) hsr::fuzz::Require(f.tensors.size() == names.size(), "all names read");
  } catch (const hsr::Error& e) {
    hsr::fuzz::CheckError(e);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Parse(data, size, {});
  Parse(data, size, {"q", "k", "v"});
  return 0;
}
