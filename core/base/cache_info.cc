#include "core/base/cache_info.h"

#include <unistd.h>

#include <charconv>
#include <fstream>
#include <string>

namespace hsr {
namespace {

size_t ReadLastLevelCacheBytes() {
  // sysfs first: under some hypervisors sysconf reports the host's L3, not the guest's.
  size_t best = 0;
  int best_level = 0;
  for (int index = 0; index < 8; ++index) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index);
    std::ifstream lf(dir + "/level"), sf(dir + "/size");
    int level = 0;
    std::string s;
    if (!(lf >> level) || !(sf >> s) || s.empty()) continue;
    size_t mult = 1;
    if (s.back() == 'K') mult = size_t{1} << 10;
    if (s.back() == 'M') mult = size_t{1} << 20;
    size_t value = 0;
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc() || ptr == s.data()) continue;
    if (level >= best_level) {
      best_level = level;
      best = value * mult;
    }
  }
  if (best != 0) return best;
  const long v = sysconf(_SC_LEVEL3_CACHE_SIZE);
  if (v > 0) return static_cast<size_t>(v);
  return size_t{32} << 20;
}

}  // namespace

size_t LastLevelCacheBytes() {
  static const size_t bytes = ReadLastLevelCacheBytes();
  return bytes;
}

}  // namespace hsr
