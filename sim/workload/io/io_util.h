// Byte-level helpers shared by the recorded-tensor readers (npy, npz, safetensors, manifest):
// whole-file reads, little-endian loads, CRC-32, and quoting untrusted text for one-line errors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hsr::sim {

// Reads the whole file; throws hsr::Error "<what>: expected a readable file, got <path>: <errno>".
std::vector<uint8_t> ReadFileBytes(const std::string& path, std::string_view what);

// Writes bytes to `path` atomically: to a temporary file in the same folder, flushed and synced,
// then renamed over `path`, so an interrupted write never leaves a partial file.
void WriteFileAtomic(const std::string& path, std::span<const uint8_t> bytes, std::string_view what);

// Untrusted text quoted for an error message: single-quoted, non-printable bytes as \xNN,
// cut to `max_chars` with "..." so that every message stays on one line.
std::string Quote(std::string_view text, size_t max_chars = 48);

// CRC-32 (IEEE 802.3, as zip uses), continuing from `crc` (0 to start).
uint32_t Crc32(std::span<const uint8_t> bytes, uint32_t crc = 0);

inline uint16_t LoadLE16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
inline uint32_t LoadLE32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}
inline uint64_t LoadLE64(const uint8_t* p) {
  return static_cast<uint64_t>(LoadLE32(p)) | (static_cast<uint64_t>(LoadLE32(p + 4)) << 32);
}

// Product of `shape` times `itemsize`; false when it overflows size_t.
bool ShapeBytes(std::span<const size_t> shape, size_t itemsize, size_t* elements, size_t* bytes);

// "[4, 64, 64]"
std::string ShapeString(std::span<const size_t> shape);

// Stored element types the readers convert to float32 (little-endian on disk).
enum class StoredType { kF32, kF16, kBF16 };
inline size_t StoredSize(StoredType t) { return t == StoredType::kF32 ? 4 : 2; }

// Converts `count` little-endian elements at `src` (any alignment) to float32 at `dst`.
void DecodeFloats(StoredType type, const uint8_t* src, size_t count, float* dst);

}  // namespace hsr::sim
