// libFuzzer target: ParseManifest (manifest.json of a recorded folder, sim/workload/io/recorded.h).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "sim/workload/io/recorded.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const hsr::sim::RecordedManifest m = hsr::sim::ParseManifest(
        std::string_view(reinterpret_cast<const char*>(data), size), "fuzz/manifest.json");
    hsr::fuzz::Require(m.heads > 0 && m.head_dim > 0 && m.n > 0 && !m.layers.empty(),
                       "ParseManifest: positive extents, some layer");
    hsr::fuzz::Require(m.files.size() == m.layers.size(), "ParseManifest: files for every layer");
    hsr::fuzz::Require(m.scale > 0, "ParseManifest: positive scale");
  } catch (const hsr::Error& e) {
    hsr::fuzz::CheckError(e);
  }
  return 0;
}
