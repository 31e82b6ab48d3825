// Device building blocks shared by the dense decode kernels (dense_decode.cu) and the HSR
// decode kernels (gpu/hsr/hsr_decode.cu), so that a score, a weight and a merge are computed by
// one piece of code everywhere on the GPU. CUDA only (include from .cu files).
//
//   ScoreRows    one key against the block's <= kRowsPerBlock query rows: each lane takes 4
//                consecutive columns per step (16-byte float / 8-byte half loads), an xor
//                butterfly reduces across the warp; every lane ends with the bitwise-same sum
//                (each level adds the same two partial sums; float addition is commutative),
//                so branches on the score are warp-uniform. Score = scale * dot, as on the CPU.
//   RowState     online state of one row: reference mx, weight sum l, acc[VPL] per lane;
//                softmax w = exp(s - mx); relu x = s - b (x > 0 iff s > b exactly: without
//                flush-to-zero the difference of two distinct floats is never 0),
//                w = (x / mx)^alpha with mx the largest x so far. Rescale factors: exp(mx_old -
//                mx_new) or (mx_old / mx_new)^alpha, exactly 1 when equal. Nothing overflows.
//   BlockPartial the kWarpsPerBlock warp states of a row merged in shared memory into one
//                (max, sum, acc[dv]) partial per (row, split); the split merge kernel
//                (dense_decode.cu, LaunchSplitMerge) combines partials and divides.
// Every rescale is triggered by a strictly larger key, so a key sees at most V - 1 of them:
// verify/oracle.cc's error model covers the result. expf (2 ulp) and IEEE division; no fast math.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "gpu/attention/decode_plan.h"

namespace hsr::gpu::cuda_detail {

constexpr int kRB = static_cast<int>(kRowsPerBlock);
constexpr int kWarps = static_cast<int>(kWarpsPerBlock);
constexpr int kThreads = 32 * kWarps;
constexpr unsigned kFull = 0xFFFFFFFFu;
using u64 = unsigned long long;

__device__ __forceinline__ float ToF(float x) { return x; }
__device__ __forceinline__ float ToF(__half x) { return __half2float(x); }
__device__ __forceinline__ float ToF(__nv_bfloat16 x) { return __bfloat162float(x); }

// 4 consecutive elements (16-byte aligned for float, 8-byte for 16-bit types) as floats.
__device__ __forceinline__ float4 Load4(const float* p) {
  return __ldg(reinterpret_cast<const float4*>(p));
}
__device__ __forceinline__ float4 Load4(const __half* p) {
  const uint2 raw = __ldg(reinterpret_cast<const uint2*>(p));
  __half2 lo, hi;
  memcpy(&lo, &raw.x, 4);
  memcpy(&hi, &raw.y, 4);
  const float2 a = __half22float2(lo), c = __half22float2(hi);
  return make_float4(a.x, a.y, c.x, c.y);
}
__device__ __forceinline__ float4 Load4(const __nv_bfloat16* p) {
  const uint2 raw = __ldg(reinterpret_cast<const uint2*>(p));
  __nv_bfloat162 lo, hi;
  memcpy(&lo, &raw.x, 4);
  memcpy(&hi, &raw.y, 4);
  const float2 a = __bfloat1622float2(lo), c = __bfloat1622float2(hi);
  return make_float4(a.x, a.y, c.x, c.y);
}

// VPL consecutive values of one V row (this lane's columns).
template <typename T, int VPL>
__device__ __forceinline__ void LoadValues(const T* p, float (&out)[VPL]) {
  if constexpr (VPL >= 4) {
#pragma unroll
    for (int c = 0; c < VPL; c += 4) {
      const float4 f = Load4(p + c);
      out[c] = f.x;
      out[c + 1] = f.y;
      out[c + 2] = f.z;
      out[c + 3] = f.w;
    }
  } else {
#pragma unroll
    for (int c = 0; c < VPL; ++c) out[c] = ToF(p[c]);
  }
}

// x^alpha by alpha - 1 multiplications.
__device__ __forceinline__ float PowInt(float x, int alpha) {
  float r = x;
  for (int a = 1; a < alpha; ++a) r *= x;
  return r;
}

// Factor moving a state kept relative to `from` onto reference `to` (to >= from); exactly 1
// when equal (also for the empty states -inf / 0).
__device__ __forceinline__ float Rescale(bool relu, int alpha, float from, float to) {
  if (from == to) return 1.0f;
  if (relu) return to > 0.0f ? PowInt(from / to, alpha) : 1.0f;
  return expf(from - to);
}

__device__ __forceinline__ float EmptyRef(bool relu) { return relu ? 0.0f : -INFINITY; }

// Keys query i (of m) sees among n: j < i + n - m + 1 when causal (bottom-right aligned).
__device__ __forceinline__ u64 VisibleKeys(bool causal, u64 i, u64 m, u64 n) {
  if (!causal) return n;
  const long long count = static_cast<long long>(i) + static_cast<long long>(n) -
                          static_cast<long long>(m) + 1;
  if (count <= 0) return 0;
  return static_cast<u64>(count) < n ? static_cast<u64>(count) : n;
}

// dot[r] = <q_s row r, k_j> for the kRB rows staged in q_s ([kRB][dk_pad], zero padded), the
// same value in every lane (see the file comment). scale is applied by the caller.
template <typename T>
__device__ __forceinline__ void ScoreRows(const float* q_s, const T* kj, u64 dk_pad, int lane,
                                          float (&dot)[kRB]) {
#pragma unroll
  for (int r = 0; r < kRB; ++r) dot[r] = 0.0f;
  for (u64 c = static_cast<u64>(lane) * 4; c < dk_pad; c += 128) {
    const float4 kf = Load4(kj + c);
#pragma unroll
    for (int r = 0; r < kRB; ++r) {
      const float4 qf = *reinterpret_cast<const float4*>(q_s + r * dk_pad + c);
      dot[r] = fmaf(qf.x, kf.x, dot[r]);
      dot[r] = fmaf(qf.y, kf.y, dot[r]);
      dot[r] = fmaf(qf.z, kf.z, dot[r]);
      dot[r] = fmaf(qf.w, kf.w, dot[r]);
    }
  }
#pragma unroll
  for (int r = 0; r < kRB; ++r) {
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) dot[r] += __shfl_xor_sync(kFull, dot[r], off);
  }
}

template <int VPL>
struct RowState {
  float mx, l, acc[VPL];

  __device__ __forceinline__ void Init(bool relu) {
    mx = EmptyRef(relu);
    l = 0.0f;
#pragma unroll
    for (int c = 0; c < VPL; ++c) acc[c] = 0.0f;
  }
  __device__ __forceinline__ void MoveTo(bool relu, int alpha, float ref) {
    const float f = Rescale(relu, alpha, mx, ref);
    l *= f;
#pragma unroll
    for (int c = 0; c < VPL; ++c) acc[c] *= f;
    mx = ref;
  }
  // Adds key (score s, values vf) with threshold b (relu). Returns false when it has no weight.
  __device__ __forceinline__ void Add(bool relu, int alpha, float s, float b,
                                      const float (&vf)[VPL]) {
    float w;
    if (relu) {
      const float x = s - b;
      if (!(x > 0.0f)) return;
      if (x > mx) MoveTo(true, alpha, x);
      w = PowInt(x / mx, alpha);
    } else {
      if (s > mx) MoveTo(false, 1, s);
      w = expf(s - mx);
    }
    l += w;
#pragma unroll
    for (int c = 0; c < VPL; ++c) acc[c] = fmaf(w, vf[c], acc[c]);
  }
};

// Shared memory floats for the warp states of BlockPartial.
__host__ __device__ constexpr u64 StateFloats(u64 dv_pad) {
  return static_cast<u64>(kWarps) * kRB * (dv_pad + 2);
}

// Each warp's states of rows [0, kRB) -> st_s; then rows [0, rows) merged into partial
// (row_base + r, split) of part_acc [.., splits, dv_pad] / part_ml [.., splits, 2].
// Contains __syncthreads: every thread of the block must call it.
template <int VPL>
__device__ __forceinline__ void BlockPartial(const RowState<VPL> (&state)[kRB], float* st_s,
                                             bool relu, int alpha, int rows, u64 row_base,
                                             u64 split, u64 splits, u64 dv_pad, float* part_acc,
                                             float* part_ml) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const u64 st = dv_pad + 2;
#pragma unroll
  for (int r = 0; r < kRB; ++r) {
    float* dst = st_s + (warp * kRB + r) * st;
#pragma unroll
    for (int c = 0; c < VPL; ++c) dst[lane * VPL + c] = state[r].acc[c];
    if (lane == 0) {
      dst[dv_pad] = state[r].mx;
      dst[dv_pad + 1] = state[r].l;
    }
  }
  __syncthreads();
  for (u64 x = threadIdx.x; x < static_cast<u64>(rows) * dv_pad; x += kThreads) {
    const u64 r = x / dv_pad, c = x % dv_pad;
    float big = EmptyRef(relu);
    for (int w = 0; w < kWarps; ++w) big = fmaxf(big, st_s[(w * kRB + r) * st + dv_pad]);
    float sum_acc = 0.0f, sum_l = 0.0f;
    for (int w = 0; w < kWarps; ++w) {
      const float* src = st_s + (w * kRB + r) * st;
      const float f = Rescale(relu, alpha, src[dv_pad], big);
      sum_acc = fmaf(src[c], f, sum_acc);
      sum_l = fmaf(src[dv_pad + 1], f, sum_l);
    }
    const u64 p = (row_base + r) * splits + split;
    part_acc[p * dv_pad + c] = sum_acc;
    if (c == 0) {
      part_ml[2 * p] = big;
      part_ml[2 * p + 1] = sum_l;
    }
  }
}

}  // namespace hsr::gpu::cuda_detail
