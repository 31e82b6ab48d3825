#include "sim/npy.h"

#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <numeric>

#include <fmt/format.h>

#include "core/base/error.h"

namespace hsr::sim {

void WriteNpyFloat32(const std::string& path, std::span<const float> data,
                     const std::vector<size_t>& shape) {
  static_assert(std::endian::native == std::endian::little, "npy writer assumes little-endian");
  const size_t count =
      std::accumulate(shape.begin(), shape.end(), size_t{1}, std::multiplies<size_t>());
  HSR_CHECK(count == data.size(), "WriteNpyFloat32: expected {} elements for the shape, got {}",
            count, data.size());
  std::string dims;
  for (size_t s : shape) dims += fmt::format("{}, ", s);
  if (shape.size() != 1 && !dims.empty()) dims.resize(dims.size() - 2);
  if (shape.size() == 1) dims.pop_back();  // "(5,)"
  std::string header =
      fmt::format("{{'descr': '<f4', 'fortran_order': False, 'shape': ({}), }}", dims);
  // magic(6) + version(2) + len(2) + header + '\n', padded with spaces to a multiple of 64.
  const size_t total = (10 + header.size() + 1 + 63) / 64 * 64;
  header.append(total - 10 - header.size() - 1, ' ');
  header.push_back('\n');
  const uint16_t len = static_cast<uint16_t>(header.size());
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "wb"), &std::fclose);
  HSR_CHECK(f != nullptr, "save-output: expected a writable file, got '{}' ({})", path,
            std::strerror(errno));
  const char magic[8] = {'\x93', 'N', 'U', 'M', 'P', 'Y', 1, 0};
  const unsigned char len_bytes[2] = {static_cast<unsigned char>(len & 0xFF),
                                      static_cast<unsigned char>(len >> 8)};
  bool ok = std::fwrite(magic, 1, 8, f.get()) == 8 && std::fwrite(len_bytes, 1, 2, f.get()) == 2 &&
            std::fwrite(header.data(), 1, header.size(), f.get()) == header.size() &&
            std::fwrite(data.data(), sizeof(float), data.size(), f.get()) == data.size();
  ok = (std::fclose(f.release()) == 0) && ok;
  HSR_CHECK(ok, "save-output: expected to write '{}', got an I/O error ({})", path,
            std::strerror(errno));
}

}  // namespace hsr::sim
