#include "sim/workload/io/io_util.h"

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>

#include "core/base/error.h"
#include "sim/workload/io/half.h"

namespace hsr::sim {
namespace {

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

constexpr std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (0xEDB88320u ^ (c >> 1)) : (c >> 1);
    table[i] = c;
  }
  return table;
}
constexpr std::array<uint32_t, 256> kCrcTable = MakeCrcTable();

}  // namespace

std::vector<uint8_t> ReadFileBytes(const std::string& path, std::string_view what) {
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
  if (!f) Fail("{}: expected a readable file, got {}: {}", what, Quote(path, 200), std::strerror(errno));
  struct stat st {};
  if (::fstat(::fileno(f.get()), &st) != 0 || !S_ISREG(st.st_mode)) {
    Fail("{}: expected a regular file, got {}", what, Quote(path, 200));
  }
  std::vector<uint8_t> bytes;
  bytes.reserve(static_cast<size_t>(st.st_size));
  std::array<uint8_t, 1 << 16> buf;
  size_t got;
  while ((got = std::fread(buf.data(), 1, buf.size(), f.get())) > 0) {
    bytes.insert(bytes.end(), buf.begin(), buf.begin() + static_cast<ptrdiff_t>(got));
  }
  if (std::ferror(f.get())) {
    Fail("{}: expected a readable file, got a read error on {}", what, Quote(path, 200));
  }
  return bytes;
}

void WriteFileAtomic(const std::string& path, std::span<const uint8_t> bytes, std::string_view what) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) {
    Fail("{}: expected a writable path, got {}: {}", what, Quote(tmp, 200), std::strerror(errno));
  }
  bool ok = bytes.empty() || std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  ok = ok && std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
  const int err = errno;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = ok ? errno : err;
    std::remove(tmp.c_str());
    Fail("{}: expected to write {} bytes to {}, got: {}", what, bytes.size(), Quote(path, 200),
         std::strerror(e));
  }
}

std::string Quote(std::string_view text, size_t max_chars) {
  std::string out = "'";
  size_t shown = 0;
  for (const char ch : text) {
    if (shown == max_chars) {
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7F && c != '\\') {
      out += ch;
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
    ++shown;
  }
  out += "'";
  return out;
}

uint32_t Crc32(std::span<const uint8_t> bytes, uint32_t crc) {
  crc = ~crc;
  for (const uint8_t b : bytes) crc = kCrcTable[(crc ^ b) & 0xFFu] ^ (crc >> 8);
  return ~crc;
}

bool ShapeBytes(std::span<const size_t> shape, size_t itemsize, size_t* elements, size_t* bytes) {
  constexpr size_t kMax = std::numeric_limits<size_t>::max();
  size_t count = 1;
  for (const size_t s : shape) {
    if (s == 0) count = 0;  // an empty array is empty whatever its other extents
  }
  for (const size_t s : shape) {
    if (count == 0) break;
    if (s != 0 && count > kMax / s) return false;
    count *= s;
  }
  if (itemsize != 0 && count > kMax / itemsize) return false;
  *elements = count;
  *bytes = count * itemsize;
  return true;
}

std::string ShapeString(std::span<const size_t> shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

void DecodeFloats(StoredType type, const uint8_t* src, size_t count, float* dst) {
  static_assert(std::endian::native == std::endian::little, "readers assume a little-endian host");
  switch (type) {
    case StoredType::kF32:
      if (count != 0) std::memcpy(dst, src, count * sizeof(float));
      break;
    case StoredType::kF16:
      for (size_t i = 0; i < count; ++i) dst[i] = HalfToFloat(LoadLE16(src + 2 * i));
      break;
    case StoredType::kBF16:
      for (size_t i = 0; i < count; ++i) dst[i] = Bf16ToFloat(LoadLE16(src + 2 * i));
      break;
  }
}

}  // namespace hsr::sim
