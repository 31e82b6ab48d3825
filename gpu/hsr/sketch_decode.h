// Launcher of the certified sketch8 filter + exact recheck of hsr-cuda-sketch* (sketch_decode.cu).
// One block per (row group, key split, kv head), as the scan filter (hsr_decode.h):
//   1. filter    I_j = <q16, k8_j> + D exactly in int32 (dp4a on hi / lo bytes, sketch_code.h) for
//                the block's keys and all rows of its group; candidate iff
//                !(fl(fl(T a_j) fl(I_j) + fl(Qn w_j)) <= b_eff); candidates of (row, split) are
//                compacted by a shared-memory counter into the row's list at the split's own
//                offset (no global atomics);
//   2. recheck   right after, the same block scores its candidates by ScoreRows
//                (decode_common.cuh, bitwise the scan filter's score) and appends (id, score)
//                of every s > b to the row's report exactly as the scan filter does,
// so the report has the scan filter's format and set, and the accumulate / split merge kernels
// of hsr_decode.h follow unchanged. Reads d_pad + 8 bytes per key plus the candidates' K rows.
#pragma once

#include <cstddef>
#include <cstdint>

#include "gpu/attention/decode_plan.h"
#include "gpu/base/kv_dtype.h"

namespace hsr::gpu {

struct SketchFilterArgs {
  KvDtype dtype = KvDtype::kF32;
  const void* k = nullptr;       // [Hkv, n, dk_pad] (storage type), for the recheck
  const int8_t* codes = nullptr;  // [Hkv, n, d_pad]
  const float* a = nullptr;       // [Hkv, n]
  const float* w = nullptr;       // [Hkv, n]
  size_t n = 0, d_pad = 0;
  const uint8_t* qhi = nullptr;  // [rows, d_pad]
  const uint8_t* qlo = nullptr;  // [rows, d_pad]
  const float* params = nullptr;  // [4, rows]: T, Qn, b_eff, D (SketchQueries)
  const float* q = nullptr;       // [rows, dk_pad] float32 (CudaSession::q)
  const float* b = nullptr;       // [rows]
  float scale = 1.0f;
  uint32_t* cand = nullptr;         // [rows, cand_capacity]
  size_t cand_capacity = 0;         // >= plan.splits * plan.keys_per_split
  unsigned* cand_counts = nullptr;  // [rows], zeroed by the launcher: candidates per row
  unsigned* counts = nullptr;       // [rows], zeroed by the launcher: reported per row
  uint32_t* ids = nullptr;          // [rows, capacity]
  float* scores = nullptr;          // [rows, capacity]
  size_t capacity = 0;              // >= n
};
void LaunchSketchFilter(const DecodePlan& plan, const SketchFilterArgs& args);

}  // namespace hsr::gpu
