// Minimal .npy writer (NumPy format 1.0, little-endian float32, C order). The loader arrives
// with the recorded-workload issue.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace hsr::sim {

// Writes data (product of shape elements) to path. Throws hsr::Error on I/O failure or a size
// mismatch.
void WriteNpyFloat32(const std::string& path, std::span<const float> data,
                     const std::vector<size_t>& shape);

}  // namespace hsr::sim
