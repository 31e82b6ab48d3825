#include <algorithm>

#include "gpu/hsr/hsr_decode.h"

namespace hsr::gpu {

size_t PlanCandidateSplits(size_t rows, size_t max_count, size_t sm_count, size_t blocks_per_sm) {
  if (rows == 0) return 1;
  const size_t target = std::max<size_t>(1, sm_count) * std::max<size_t>(1, blocks_per_sm);
  size_t splits = (target + rows - 1) / rows;
  splits = std::min(splits, std::max<size_t>(1, max_count / kMinCandidatesPerSplit));
  return std::clamp<size_t>(splits, 1, kMaxSplits);
}

}  // namespace hsr::gpu
