// Dense split-K decode (flash decoding) on CUDA cores, float32 accumulation; K/V stored as
// float32, float16 or bfloat16. Layouts and plan: decode_plan.h, dense_decode.h; the score,
// weight and merge arithmetic (and why it meets the oracle's error model): decode_common.cuh.
//
// Block (row group, split, kv head): 4 warps; warp w scores keys begin + w, + 4, ... of the
// split against the block's <= 4 query rows (GQA rows of one kv head share each K/V read),
// keeps an online state per row, and the warp states become one partial per (row, split);
// the merge kernel combines the splits of each row, divides, and writes exact zeros (empty = 1)
// for a row with no weight. Causal rows (prefill) stop at their own visible count and a block
// stops at the last key any of its rows sees.
#include <cuda_runtime.h>

#include "gpu/attention/decode_common.cuh"
#include "gpu/attention/dense_decode.h"
#include "gpu/base/cuda_check.h"

namespace hsr::gpu {
namespace {

using namespace cuda_detail;  // NOLINT(build/namespaces)

struct KernelArgs {
  const void* k;
  const void* v;
  u64 n, m, dk_pad, dv_pad, rows_per_kv, keys_per_split, splits;
  const float* q;
  const float* b;
  int relu, causal, alpha;
  float scale;
  float* part_acc;
  float* part_ml;
};

template <typename T, int VPL>
__global__ void __launch_bounds__(kThreads) DecodePartialKernel(KernelArgs a) {
  extern __shared__ float4 smem4[];
  float* q_s = reinterpret_cast<float*>(smem4);  // [kRB][dk_pad]
  float* st_s = q_s + kRB * a.dk_pad;             // StateFloats(dv_pad)
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const u64 g = blockIdx.z, split = blockIdx.y;
  const u64 r0 = static_cast<u64>(blockIdx.x) * kRB;
  const int rows = static_cast<int>(min(static_cast<u64>(kRB), a.rows_per_kv - r0));
  const u64 row_base = g * a.rows_per_kv + r0;  // global row (h * m + i) of r = 0
  const bool relu = a.relu != 0;

  for (u64 x = threadIdx.x; x < kRB * a.dk_pad; x += kThreads) {
    const u64 r = x / a.dk_pad;
    q_s[x] = static_cast<int>(r) < rows ? a.q[(row_base + r) * a.dk_pad + x % a.dk_pad] : 0.0f;
  }
  float thr[kRB];
  u64 vis[kRB];
  u64 max_vis = 0;
#pragma unroll
  for (int r = 0; r < kRB; ++r) {
    thr[r] = 0.0f;
    vis[r] = 0;
    if (r < rows) {
      thr[r] = relu ? a.b[row_base + r] : 0.0f;
      vis[r] = VisibleKeys(a.causal != 0, (r0 + r) % a.m, a.m, a.n);
      max_vis = max(max_vis, vis[r]);
    }
  }
  __syncthreads();

  const u64 begin = split * a.keys_per_split;
  const u64 end = min(min(begin + a.keys_per_split, a.n), max_vis);
  const T* kb = static_cast<const T*>(a.k) + g * a.n * a.dk_pad;
  const T* vb = static_cast<const T*>(a.v) + g * a.n * a.dv_pad + lane * VPL;

  RowState<VPL> state[kRB];
#pragma unroll
  for (int r = 0; r < kRB; ++r) state[r].Init(relu);

  for (u64 j = begin + warp; j < end; j += kWarps) {
    float dot[kRB];
    ScoreRows(q_s, kb + j * a.dk_pad, a.dk_pad, lane, dot);
    float vf[VPL];
    LoadValues<T, VPL>(vb + j * a.dv_pad, vf);
#pragma unroll
    for (int r = 0; r < kRB; ++r) {
      if (j < vis[r]) state[r].Add(relu, a.alpha, a.scale * dot[r], thr[r], vf);  // warp-uniform
    }
  }
  BlockPartial(state, st_s, relu, a.alpha, rows, row_base, split, a.splits, a.dv_pad,
               a.part_acc, a.part_ml);
}

// One block per row: combine the row's splits, divide, zeros (empty = 1) without weight.
__global__ void __launch_bounds__(128) SplitMergeKernel(SplitMergeArgs a) {
  const u64 row = blockIdx.x;
  const bool relu = a.relu;
  const float* ml = a.part_ml + 2 * row * a.splits;
  float big = EmptyRef(relu);
  for (u64 s = 0; s < a.splits; ++s) big = fmaxf(big, ml[2 * s]);
  float sum_l = 0.0f;
  for (u64 s = 0; s < a.splits; ++s)
    sum_l = fmaf(ml[2 * s + 1], Rescale(relu, a.alpha, ml[2 * s], big), sum_l);
  const bool empty = !(sum_l > 0.0f);
  for (u64 c = threadIdx.x; c < a.dv_pad; c += blockDim.x) {
    float sum = 0.0f;
    if (!empty) {
      for (u64 s = 0; s < a.splits; ++s) {
        const float f = Rescale(relu, a.alpha, ml[2 * s], big);
        sum = fmaf(a.part_acc[(row * a.splits + s) * a.dv_pad + c], f, sum);
      }
    }
    a.out[row * a.dv_pad + c] = empty ? 0.0f : sum / sum_l;
  }
  if (threadIdx.x == 0) a.empty[row] = empty ? 1 : 0;
}

template <typename T>
const void* ByLanes(size_t values_per_lane) {
  switch (values_per_lane) {
    case 1: return reinterpret_cast<const void*>(&DecodePartialKernel<T, 1>);
    case 2: return reinterpret_cast<const void*>(&DecodePartialKernel<T, 2>);
    case 4: return reinterpret_cast<const void*>(&DecodePartialKernel<T, 4>);
    default: return reinterpret_cast<const void*>(&DecodePartialKernel<T, 8>);
  }
}

const void* PartialKernel(KvDtype dtype, size_t values_per_lane) {
  switch (dtype) {
    case KvDtype::kF16: return ByLanes<__half>(values_per_lane);
    case KvDtype::kBf16: return ByLanes<__nv_bfloat16>(values_per_lane);
    default: return ByLanes<float>(values_per_lane);
  }
}

size_t SmemBytes(size_t dk_pad, size_t dv_pad) {
  return sizeof(float) * (kRowsPerBlock * dk_pad + StateFloats(dv_pad));
}

}  // namespace

size_t DenseDecodeSmemBytes(const DecodePlan& plan) { return SmemBytes(plan.dk_pad, plan.dv_pad); }

size_t DenseDecodeBlocksPerSm(KvDtype dtype, size_t values_per_lane, size_t dk_pad) {
  int blocks = 0;
  HSR_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(
      &blocks, PartialKernel(dtype, values_per_lane), kThreads,
      SmemBytes(dk_pad, 32 * values_per_lane)));
  return blocks < 1 ? 1 : static_cast<size_t>(blocks);
}

void LaunchSplitMerge(const SplitMergeArgs& a) {
  if (a.rows == 0) return;
  SplitMergeKernel<<<static_cast<unsigned>(a.rows), 128>>>(a);
  HSR_CUDA_CHECK(cudaGetLastError());
}

void LaunchDenseDecode(const DecodePlan& plan, const DenseDecodeArgs& in) {
  const size_t rows = plan.rows_per_kv * plan.kv_heads;
  if (rows == 0) return;
  KernelArgs a{};
  a.k = in.k;
  a.v = in.v;
  a.n = in.n;
  a.m = in.m;
  a.dk_pad = plan.dk_pad;
  a.dv_pad = plan.dv_pad;
  a.rows_per_kv = plan.rows_per_kv;
  a.keys_per_split = plan.keys_per_split;
  a.splits = plan.splits;
  a.q = in.q;
  a.b = in.b;
  a.relu = in.relu ? 1 : 0;
  a.causal = in.causal ? 1 : 0;
  a.alpha = in.alpha;
  a.scale = in.scale;
  a.part_acc = in.part_acc;
  a.part_ml = in.part_ml;
  const dim3 grid(static_cast<unsigned>(plan.row_groups), static_cast<unsigned>(plan.splits),
                  static_cast<unsigned>(plan.kv_heads));
  void* params[] = {&a};
  HSR_CUDA_CHECK(cudaLaunchKernel(PartialKernel(in.dtype, plan.values_per_lane), grid,
                                  dim3(kThreads), params, SmemBytes(plan.dk_pad, plan.dv_pad),
                                  nullptr));
  SplitMergeArgs merge;
  merge.rows = rows;
  merge.splits = plan.splits;
  merge.dv_pad = plan.dv_pad;
  merge.relu = in.relu;
  merge.alpha = in.alpha;
  merge.part_acc = in.part_acc;
  merge.part_ml = in.part_ml;
  merge.out = in.out;
  merge.empty = in.empty;
  LaunchSplitMerge(merge);
}

}  // namespace hsr::gpu
