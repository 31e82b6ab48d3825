// Test helper: the K or V array of a cache after DecodeEngine::Append of one row per kv head,
// [heads, n, width] followed by [heads, width] -> [heads, n + 1, width] (row-major, dense).
#pragma once

#include <cstddef>
#include <vector>

namespace hsr::verify {

inline std::vector<float> AppendRowPerHead(const std::vector<float>& cache,
                                           const std::vector<float>& rows, size_t heads,
                                           size_t n, size_t width) {
  std::vector<float> out;
  out.reserve(heads * (n + 1) * width);
  for (size_t h = 0; h < heads; ++h) {
    out.insert(out.end(), cache.begin() + h * n * width, cache.begin() + (h + 1) * n * width);
    out.insert(out.end(), rows.begin() + h * width, rows.begin() + (h + 1) * width);
  }
  return out;
}

}  // namespace hsr::verify
