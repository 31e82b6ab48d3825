// Launchers of the exact HSR decode kernels for ReLU^alpha (hsr_decode.cu):
//   1. filter      the half-space report R(q, b) = { j : s_j > b } of every query row, by a
//                  scan of K (the same score code as dense decode, decode_common.cuh), with
//                  compaction of (id, score) into per-row lists by an atomic counter per row;
//   2. accumulate  ReLU^alpha weights from the stored scores and a gather of the reported V
//                  rows only, split over each row's list, into (row, split) partials;
//   3. the split merge of the dense path (LaunchSplitMerge).
// ReLU^alpha over R(q, b) equals dense ReLU^alpha (a key outside R has weight 0), so the result
// is exact up to float summation order. The list order (and so the summation order) depends on
// atomic scheduling: bits may differ between runs, always within the oracle's tolerance.
#pragma once

#include <cstddef>
#include <cstdint>

#include "gpu/attention/decode_plan.h"
#include "gpu/base/kv_dtype.h"

namespace hsr::gpu {

struct HsrFilterArgs {
  KvDtype dtype = KvDtype::kF32;
  const void* k = nullptr;  // [Hkv, n, dk_pad]
  size_t n = 0, m = 1;
  const float* q = nullptr;  // [Hq * m, dk_pad]
  const float* b = nullptr;  // [Hq * m]
  float scale = 1.0f;
  unsigned* counts = nullptr;  // [Hq * m], zeroed by the launcher
  uint32_t* ids = nullptr;     // [Hq * m, capacity]
  float* scores = nullptr;     // [Hq * m, capacity]
  size_t capacity = 0;         // >= n
};
// Key splits and row groups as in dense decode (plan from PlanDecode).
void LaunchHsrFilter(const DecodePlan& plan, const HsrFilterArgs& args);

struct HsrAccumulateArgs {
  KvDtype dtype = KvDtype::kF32;
  const void* v = nullptr;  // [Hkv, n, dv_pad]
  size_t n = 0, rows = 0, rows_per_kv = 1, dv_pad = 0, values_per_lane = 1;
  const unsigned* counts = nullptr;
  const uint32_t* ids = nullptr;
  const float* scores = nullptr;
  size_t capacity = 0;
  const float* b = nullptr;
  int alpha = 1;
  size_t splits = 1;  // list splits per row
  float* part_acc = nullptr;  // [rows, splits, dv_pad]
  float* part_ml = nullptr;   // [rows, splits, 2]
};
void LaunchHsrAccumulate(const HsrAccumulateArgs& args);

// List splits per row for the accumulate kernel: enough blocks for the device, each split
// >= kMinCandidatesPerSplit candidates (host side, unit-tested).
inline constexpr size_t kMinCandidatesPerSplit = 64;
size_t PlanCandidateSplits(size_t rows, size_t max_count, size_t sm_count, size_t blocks_per_sm);

}  // namespace hsr::gpu
