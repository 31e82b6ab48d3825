// How a dense or HSR decode launch splits its work (host side, plain C++, unit-tested on CPU).
//
// The rows of one kv head (group = Hq / Hkv query heads x m queries, GQA batched) are cut into
// row groups of kRowsPerBlock; K/V of that head are cut into `splits` contiguous key ranges
// (split-K, flash-decoding). One CUDA block handles (row group, split, kv head): it reads its
// key range once for all rows of its group and writes one partial state (max, sum, acc[dv])
// per row; a merge kernel combines the splits of each row. The plan aims at enough blocks to
// fill the device (blocks_per_sm x SMs) without giving a block fewer than kMinKeysPerSplit
// keys, and rounds each range to a multiple of kWarpsPerBlock keys.
#pragma once

#include <cstddef>
#include <string>

namespace hsr::gpu {

inline constexpr size_t kRowsPerBlock = 4;      // query rows sharing one K/V read per block
inline constexpr size_t kWarpsPerBlock = 4;     // 128 threads; one key per warp at a time
inline constexpr size_t kMinKeysPerSplit = 256;
inline constexpr size_t kMaxSplits = 4096;
inline constexpr size_t kMaxHeadDim = 1024;     // q/K columns staged in shared memory
inline constexpr size_t kMaxValueDim = 256;     // 32 lanes x 8 accumulators per row

struct DecodePlan {
  size_t rows_per_kv = 0;     // group * m
  size_t row_groups = 0;      // ceil(rows_per_kv / kRowsPerBlock), >= 1
  size_t splits = 1;          // key ranges, >= 1
  size_t keys_per_split = 0;  // multiple of kWarpsPerBlock; splits * keys_per_split >= n
  size_t kv_heads = 0;
  size_t values_per_lane = 1;  // 1, 2, 4 or 8: dv padded to 32 * values_per_lane
  size_t dk_pad = 0;           // d rounded up to a multiple of 4 (one float4 per lane step)
  size_t dv_pad = 0;           // 32 * values_per_lane

  size_t Blocks() const { return row_groups * splits * kv_heads; }
  // Key range [begin, end) of split s (end clipped to n).
  size_t SplitBegin(size_t s) const { return s * keys_per_split; }
  size_t SplitEnd(size_t s, size_t n) const {
    const size_t e = (s + 1) * keys_per_split;
    return e < n ? e : n;
  }
  std::string Describe() const;
};

// Throws hsr::Error (one line, naming `where`) when d > kMaxHeadDim, dv > kMaxValueDim, d or dv
// is 0, kv_heads is 0 or sm_count is 0. blocks_per_sm: how many 128-thread blocks the planner
// wants resident per SM (the launcher passes the occupancy the kernel reaches).
DecodePlan PlanDecode(const char* where, size_t q_heads, size_t kv_heads, size_t m, size_t n,
                      size_t d, size_t dv, size_t sm_count, size_t blocks_per_sm);

// True when the launcher can run this shape (no throw): d, dv within the limits above.
bool DecodeShapeSupported(size_t d, size_t dv);

}  // namespace hsr::gpu
