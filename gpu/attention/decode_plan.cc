#include "gpu/attention/decode_plan.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/base/error.h"

namespace hsr::gpu {

std::string DecodePlan::Describe() const {
  return fmt::format("rows_per_kv={} row_groups={} splits={} keys_per_split={} kv_heads={} "
                     "values_per_lane={} dk_pad={} dv_pad={}",
                     rows_per_kv, row_groups, splits, keys_per_split, kv_heads, values_per_lane,
                     dk_pad, dv_pad);
}

bool DecodeShapeSupported(size_t d, size_t dv) {
  return d >= 1 && d <= kMaxHeadDim && dv >= 1 && dv <= kMaxValueDim;
}

DecodePlan PlanDecode(const char* where, size_t q_heads, size_t kv_heads, size_t m, size_t n,
                      size_t d, size_t dv, size_t sm_count, size_t blocks_per_sm) {
  HSR_CHECK(d >= 1 && d <= kMaxHeadDim, "{}: expected 1 <= d <= {}, got d={}", where,
            kMaxHeadDim, d);
  HSR_CHECK(dv >= 1 && dv <= kMaxValueDim, "{}: expected 1 <= dv <= {}, got dv={}", where,
            kMaxValueDim, dv);
  HSR_CHECK(kv_heads >= 1 && q_heads % kv_heads == 0,
            "{}: expected q heads a multiple of kv heads >= 1, got Hq={} Hkv={}", where, q_heads,
            kv_heads);
  HSR_CHECK(sm_count >= 1 && blocks_per_sm >= 1,
            "{}: expected sm_count >= 1 and blocks_per_sm >= 1, got {} and {}", where, sm_count,
            blocks_per_sm);
  DecodePlan p;
  p.kv_heads = kv_heads;
  p.rows_per_kv = (q_heads / kv_heads) * m;
  p.row_groups = std::max<size_t>(1, (p.rows_per_kv + kRowsPerBlock - 1) / kRowsPerBlock);
  p.values_per_lane = dv <= 32 ? 1 : dv <= 64 ? 2 : dv <= 128 ? 4 : 8;
  p.dv_pad = 32 * p.values_per_lane;
  p.dk_pad = (d + 3) / 4 * 4;
  // Enough splits to fill the device, but each split keeps >= kMinKeysPerSplit keys.
  const size_t target = sm_count * blocks_per_sm;
  const size_t base = p.row_groups * kv_heads;
  size_t splits = (target + base - 1) / base;
  splits = std::min(splits, std::max<size_t>(1, n / kMinKeysPerSplit));
  splits = std::clamp<size_t>(splits, 1, kMaxSplits);
  size_t per = (n + splits - 1) / splits;
  per = (per + kWarpsPerBlock - 1) / kWarpsPerBlock * kWarpsPerBlock;
  p.keys_per_split = per;
  p.splits = per == 0 ? 1 : (n + per - 1) / per;  // no empty trailing split
  return p;
}

}  // namespace hsr::gpu
