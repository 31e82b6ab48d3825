// Launchers of the dense split-K decode kernels (dense_decode.cu). Plain C++: the backend
// (dense_cuda_backend.cc) fills DenseDecodeArgs with device pointers laid out as DecodePlan says.
//
// The same kernels serve causal prefill on CUDA cores: a row's visible keys are
// j < i + n - m + 1 (bottom-right aligned) and a block stops at the last key any of its rows sees.
#pragma once

#include <cstddef>

#include "gpu/attention/decode_plan.h"
#include "gpu/base/kv_dtype.h"

namespace hsr::gpu {

struct DenseDecodeArgs {
  KvDtype dtype = KvDtype::kF32;
  const void* k = nullptr;  // [Hkv, n, dk_pad] of dtype, zero padded
  const void* v = nullptr;  // [Hkv, n, dv_pad] of dtype, zero padded
  size_t n = 0, m = 1;
  const float* q = nullptr;  // [Hq * m, dk_pad] float32, zero padded; row h * m + i
  const float* b = nullptr;  // [Hq * m] ReLU thresholds (relu only)
  bool relu = false, causal = false;
  int alpha = 1;
  float scale = 1.0f;
  float* part_acc = nullptr;  // [Hq * m, splits, dv_pad] scratch
  float* part_ml = nullptr;   // [Hq * m, splits, 2] scratch: (max, sum)
  float* out = nullptr;       // [Hq * m, dv_pad]
  int* empty = nullptr;       // [Hq * m]: 1 where the row had no visible key / positive weight
};

// Combining per-(row, split) partials (max, sum, acc[dv_pad]) into out rows; used by the
// dense and HSR decode paths. Rows with no weight get zeros and empty = 1.
struct SplitMergeArgs {
  size_t rows = 0, splits = 1, dv_pad = 0;
  bool relu = false;
  int alpha = 1;
  const float* part_acc = nullptr;  // [rows, splits, dv_pad]
  const float* part_ml = nullptr;   // [rows, splits, 2]
  float* out = nullptr;             // [rows, dv_pad]
  int* empty = nullptr;             // [rows]
};
void LaunchSplitMerge(const SplitMergeArgs& args);

// Occupancy of the decode kernel for this storage type and plan.values_per_lane (blocks of
// kWarpsPerBlock warps per SM, >= 1), for PlanDecode's blocks_per_sm. Throws hsr::Error on a
// CUDA error.
size_t DenseDecodeBlocksPerSm(KvDtype dtype, size_t values_per_lane, size_t dk_pad);

// Enqueues the partial kernel and the merge kernel on the default stream; checks the launch
// (not completion). Throws hsr::Error on a CUDA error.
void LaunchDenseDecode(const DecodePlan& plan, const DenseDecodeArgs& args);

// Shared memory bytes of one decode block (q rows + the per-warp states).
size_t DenseDecodeSmemBytes(const DecodePlan& plan);

}  // namespace hsr::gpu
