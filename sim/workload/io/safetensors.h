// safetensors reader: 8-byte little-endian header length N, an N-byte JSON header
// {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}},
// then the byte buffer (offsets are relative to its start).
//
// F32, F16 and BF16 tensors convert to float32 (inf/NaN kept). Throws a one-line hsr::Error for a
// header length over the file or over 100 MiB, JSON that does not parse or has the wrong types,
// missing dtype / shape / data_offsets, offsets out of range or begin > end, overlapping tensors,
// a byte size that differs from product(shape) * itemsize or overflows, an unknown dtype (for a
// tensor that is read) and a requested name that is absent. Tests: safetensors_test.cc; fuzzed by
// fuzz/safetensors_fuzz.cc.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sim/workload/io/npy.h"

namespace hsr::sim {

inline constexpr uint64_t kMaxSafetensorsHeaderBytes = uint64_t{100} << 20;

struct SafetensorsFile {
  std::map<std::string, NpyArray> tensors;           // the requested ones (all if none named)
  std::map<std::string, std::string> metadata;       // "__metadata__" string entries
};

// Parses a safetensors file held in memory. `names`: tensors to convert (empty: all); every
// tensor's offsets are validated either way. `name` prefixes every error message.
SafetensorsFile ParseSafetensors(std::span<const uint8_t> bytes, std::string_view name,
                                 const std::vector<std::string>& names = {});

// Reads the file at `path` (tensors and metadata).
SafetensorsFile ReadSafetensorsFile(const std::string& path,
                                    const std::vector<std::string>& names = {});

// Reads the file at `path`; returns the requested tensors (all if `names` is empty).
std::map<std::string, NpyArray> ReadSafetensors(const std::string& path,
                                                const std::vector<std::string>& names = {});

}  // namespace hsr::sim
