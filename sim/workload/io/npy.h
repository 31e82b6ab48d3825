// NumPy .npy reader and writer for recorded tensors (format versions 1.0, 2.0, 3.0).
//
// Reads little-endian float32 ('<f4') and IEEE float16 ('<f2') arrays in C order and returns
// float32; float16 subnormals convert exactly, inf and NaN are kept for the caller's finiteness
// check. Everything else -- bad magic, truncated or oversized (> 1 MiB) header, a header that is not
// a Python dict literal with exactly descr / fortran_order / shape, Fortran order, big-endian or
// other dtypes, negative or non-integer extents, a shape whose byte size overflows or differs from
// the bytes present -- throws a one-line hsr::Error naming what was expected and what was found.
// Tests: npy_test.cc, half_test.cc; fuzzed by fuzz/npy_fuzz.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hsr::sim {

struct NpyArray {
  std::vector<size_t> shape;  // C order; {} for a 0-d array (one element)
  std::vector<float> data;    // product(shape) elements, row-major
  std::string dtype;          // as stored: "<f4", "<f2" (.npy) or "F32", "F16", "BF16" (safetensors)
};

// Largest .npy header accepted (numpy itself writes < 64 KiB for any sane shape).
inline constexpr size_t kMaxNpyHeaderBytes = size_t{1} << 20;

// Parses a whole .npy file held in memory; `name` prefixes every error message.
NpyArray ParseNpy(std::span<const uint8_t> bytes, std::string_view name);

// Reads and parses the file at `path`.
NpyArray ReadNpy(const std::string& path);

// Writes float32 data ('<f4', C order) with a version 1.0 header padded to a multiple of 64 bytes
// (2.0 if the header would not fit in 64 KiB), atomically: a temporary file renamed over `path`.
// Throws hsr::Error if data.size() != product(shape) or the file cannot be written.
void WriteNpy(const std::string& path, const std::vector<size_t>& shape, std::span<const float> data);

}  // namespace hsr::sim
