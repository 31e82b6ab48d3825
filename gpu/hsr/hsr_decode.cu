// Exact HSR decode for ReLU^alpha on CUDA cores: filter (scan + compaction), accumulate
// (gather of reported V rows), split merge. See hsr_decode.h; arithmetic: decode_common.cuh.
#include <cuda_runtime.h>

#include <cstdint>

#include "gpu/attention/decode_common.cuh"
#include "gpu/attention/dense_decode.h"
#include "gpu/base/cuda_check.h"
#include "gpu/hsr/hsr_decode.h"

namespace hsr::gpu {
namespace {

using namespace cuda_detail;  // NOLINT(build/namespaces)

struct FilterArgs {
  const void* k;
  u64 n, m, dk_pad, rows_per_kv, keys_per_split, capacity;
  const float* q;
  const float* b;
  float scale;
  unsigned* counts;
  uint32_t* ids;
  float* scores;
};

// Block (row group, split, kv head) as DecodePartialKernel; reads K only. Lane 0 appends each
// reported (id, score) with one atomic per key and row.
template <typename T>
__global__ void __launch_bounds__(kThreads) HsrFilterKernel(FilterArgs a) {
  extern __shared__ float4 smem4[];
  float* q_s = reinterpret_cast<float*>(smem4);  // [kRB][dk_pad]
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const u64 g = blockIdx.z, split = blockIdx.y;
  const u64 r0 = static_cast<u64>(blockIdx.x) * kRB;
  const int rows = static_cast<int>(min(static_cast<u64>(kRB), a.rows_per_kv - r0));
  const u64 row_base = g * a.rows_per_kv + r0;
  for (u64 x = threadIdx.x; x < kRB * a.dk_pad; x += kThreads) {
    const u64 r = x / a.dk_pad;
    q_s[x] = static_cast<int>(r) < rows ? a.q[(row_base + r) * a.dk_pad + x % a.dk_pad] : 0.0f;
  }
  float thr[kRB];
#pragma unroll
  for (int r = 0; r < kRB; ++r) thr[r] = r < rows ? a.b[row_base + r] : INFINITY;
  __syncthreads();
  const u64 begin = split * a.keys_per_split;
  const u64 end = min(begin + a.keys_per_split, a.n);
  const T* kb = static_cast<const T*>(a.k) + g * a.n * a.dk_pad;
  for (u64 j = begin + warp; j < end; j += kWarps) {
    float dot[kRB];
    ScoreRows(q_s, kb + j * a.dk_pad, a.dk_pad, lane, dot);
    if (lane == 0) {
#pragma unroll
      for (int r = 0; r < kRB; ++r) {
        const float s = a.scale * dot[r];
        if (s > thr[r]) {  // strict, as every index (docs/design.md §1); never true for r >= rows
          const u64 row = row_base + r;
          const unsigned at = atomicAdd(&a.counts[row], 1u);
          if (at < a.capacity) {
            a.ids[row * a.capacity + at] = static_cast<uint32_t>(j);
            a.scores[row * a.capacity + at] = s;
          }
        }
      }
    }
  }
}

struct AccumulateArgs {
  const void* v;
  u64 n, rows_per_kv, dv_pad, capacity, splits;
  const unsigned* counts;
  const uint32_t* ids;
  const float* scores;
  const float* b;
  int alpha;
  float* part_acc;
  float* part_ml;
};

// Block (row, split): warp w takes candidates begin + w, + 4, ... of the row's list.
template <typename T, int VPL>
__global__ void __launch_bounds__(kThreads) HsrAccumulateKernel(AccumulateArgs a) {
  extern __shared__ float4 smem4[];
  float* st_s = reinterpret_cast<float*>(smem4);  // StateFloats(dv_pad)
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const u64 row = blockIdx.x, split = blockIdx.y;
  const u64 count = min(static_cast<u64>(a.counts[row]), a.capacity);
  const u64 per = (count + a.splits - 1) / a.splits;
  const u64 begin = min(split * per, count), end = min(begin + per, count);
  const float b = a.b[row];
  const T* vb = static_cast<const T*>(a.v) + (row / a.rows_per_kv) * a.n * a.dv_pad + lane * VPL;
  const uint32_t* ids = a.ids + row * a.capacity;
  const float* scores = a.scores + row * a.capacity;
  RowState<VPL> state[kRB];
#pragma unroll
  for (int r = 0; r < kRB; ++r) state[r].Init(true);
  for (u64 t = begin + warp; t < end; t += kWarps) {
    float vf[VPL];
    LoadValues<T, VPL>(vb + static_cast<u64>(ids[t]) * a.dv_pad, vf);
    state[0].Add(true, a.alpha, scores[t], b, vf);
  }
  BlockPartial(state, st_s, true, a.alpha, 1, row, split, a.splits, a.dv_pad, a.part_acc,
               a.part_ml);
}

const void* FilterKernel(KvDtype dtype) {
  switch (dtype) {
    case KvDtype::kF16: return reinterpret_cast<const void*>(&HsrFilterKernel<__half>);
    case KvDtype::kBf16: return reinterpret_cast<const void*>(&HsrFilterKernel<__nv_bfloat16>);
    default: return reinterpret_cast<const void*>(&HsrFilterKernel<float>);
  }
}

template <typename T>
const void* AccumulateByLanes(size_t values_per_lane) {
  switch (values_per_lane) {
    case 1: return reinterpret_cast<const void*>(&HsrAccumulateKernel<T, 1>);
    case 2: return reinterpret_cast<const void*>(&HsrAccumulateKernel<T, 2>);
    case 4: return reinterpret_cast<const void*>(&HsrAccumulateKernel<T, 4>);
    default: return reinterpret_cast<const void*>(&HsrAccumulateKernel<T, 8>);
  }
}

const void* AccumulateKernel(KvDtype dtype, size_t values_per_lane) {
  switch (dtype) {
    case KvDtype::kF16: return AccumulateByLanes<__half>(values_per_lane);
    case KvDtype::kBf16: return AccumulateByLanes<__nv_bfloat16>(values_per_lane);
    default: return AccumulateByLanes<float>(values_per_lane);
  }
}

}  // namespace

void LaunchHsrFilter(const DecodePlan& plan, const HsrFilterArgs& in) {
  const size_t rows = plan.rows_per_kv * plan.kv_heads;
  if (rows == 0) return;
  HSR_CUDA_CHECK(cudaMemset(in.counts, 0, rows * sizeof(unsigned)));
  if (in.n == 0) return;
  FilterArgs a{};
  a.k = in.k;
  a.n = in.n;
  a.m = in.m;
  a.dk_pad = plan.dk_pad;
  a.rows_per_kv = plan.rows_per_kv;
  a.keys_per_split = plan.keys_per_split;
  a.capacity = in.capacity;
  a.q = in.q;
  a.b = in.b;
  a.scale = in.scale;
  a.counts = in.counts;
  a.ids = in.ids;
  a.scores = in.scores;
  const dim3 grid(static_cast<unsigned>(plan.row_groups), static_cast<unsigned>(plan.splits),
                  static_cast<unsigned>(plan.kv_heads));
  void* params[] = {&a};
  HSR_CUDA_CHECK(cudaLaunchKernel(FilterKernel(in.dtype), grid, dim3(kThreads), params,
                                  sizeof(float) * kRowsPerBlock * plan.dk_pad, nullptr));
}

void LaunchHsrAccumulate(const HsrAccumulateArgs& in) {
  if (in.rows == 0) return;
  AccumulateArgs a{};
  a.v = in.v;
  a.n = in.n;
  a.rows_per_kv = in.rows_per_kv;
  a.dv_pad = in.dv_pad;
  a.capacity = in.capacity;
  a.splits = in.splits;
  a.counts = in.counts;
  a.ids = in.ids;
  a.scores = in.scores;
  a.b = in.b;
  a.alpha = in.alpha;
  a.part_acc = in.part_acc;
  a.part_ml = in.part_ml;
  const dim3 grid(static_cast<unsigned>(in.rows), static_cast<unsigned>(in.splits));
  void* params[] = {&a};
  HSR_CUDA_CHECK(cudaLaunchKernel(AccumulateKernel(in.dtype, in.values_per_lane), grid,
                                  dim3(kThreads), params, sizeof(float) * StateFloats(in.dv_pad),
                                  nullptr));
}

}  // namespace hsr::gpu
