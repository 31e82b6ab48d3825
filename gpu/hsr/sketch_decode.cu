// Certified sketch8 filter + exact recheck (sketch_decode.h); integer and bound arithmetic in
// sketch_code.h (host-tested), the recheck score in decode_common.cuh (shared with the scan).
#include <cuda_runtime.h>

#include <cstdint>

#include "gpu/attention/decode_common.cuh"
#include "gpu/base/cuda_check.h"
#include "gpu/hsr/sketch_code.h"
#include "gpu/hsr/sketch_decode.h"

namespace hsr::gpu {
namespace {

using namespace cuda_detail;  // NOLINT(build/namespaces)
using sketch::kBytesPerLane;
using sketch::kKeysPerWarp;
using sketch::kLanesPerKey;

constexpr int kUnroll = 2;  // key steps per warp iteration (code loads in flight per lane)

struct Args {
  const void* k;
  const int8_t* codes;
  const float* a;
  const float* w;
  u64 n, d_pad, dk_pad, rows_per_kv, keys_per_split, cand_capacity, capacity;
  const uint8_t* qhi;
  const uint8_t* qlo;
  const float* params;
  u64 rows_total;
  const float* q;
  const float* b;
  float scale;
  uint32_t* cand;
  unsigned* cand_counts;
  unsigned* counts;
  uint32_t* ids;
  float* scores;
};

template <typename T>
__global__ void __launch_bounds__(kThreads) SketchFilterKernel(Args a) {
  extern __shared__ float4 smem4[];
  float* q_s = reinterpret_cast<float*>(smem4);  // [kRB][dk_pad] float query rows (recheck)
  uint8_t* qhi_s = reinterpret_cast<uint8_t*>(q_s + kRB * a.dk_pad);  // [kRB][d_pad]
  uint8_t* qlo_s = qhi_s + kRB * a.d_pad;                             // [kRB][d_pad]
  __shared__ float prm_s[4][kRB];
  __shared__ unsigned cnt_s[kRB];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const u64 g = blockIdx.z, split = blockIdx.y;
  const u64 r0 = static_cast<u64>(blockIdx.x) * kRB;
  const int rows = static_cast<int>(min(static_cast<u64>(kRB), a.rows_per_kv - r0));
  const u64 row_base = g * a.rows_per_kv + r0;
  for (u64 x = threadIdx.x; x < kRB * a.dk_pad; x += kThreads) {
    const u64 r = x / a.dk_pad;
    q_s[x] = static_cast<int>(r) < rows ? a.q[(row_base + r) * a.dk_pad + x % a.dk_pad] : 0.0f;
  }
  const u64 qwords = kRB * a.d_pad / 4;  // q byte rows as 32-bit words
  uint32_t* qhi_w = reinterpret_cast<uint32_t*>(qhi_s);
  uint32_t* qlo_w = reinterpret_cast<uint32_t*>(qlo_s);
  for (u64 x = threadIdx.x; x < qwords; x += kThreads) {
    const u64 r = x / (a.d_pad / 4);
    uint32_t hi = 0, lo = 0;
    if (static_cast<int>(r) < rows) {
      const u64 at = (row_base + r) * a.d_pad + 4 * (x % (a.d_pad / 4));
      hi = *reinterpret_cast<const uint32_t*>(a.qhi + at);
      lo = *reinterpret_cast<const uint32_t*>(a.qlo + at);
    }
    qhi_w[x] = hi;
    qlo_w[x] = lo;
  }
  if (threadIdx.x < kRB) {
    const int r = static_cast<int>(threadIdx.x);
    const u64 row = row_base + r;
    prm_s[0][r] = r < rows ? a.params[row] : 0.0f;
    prm_s[1][r] = r < rows ? a.params[a.rows_total + row] : 0.0f;
    prm_s[2][r] = r < rows ? a.params[2 * a.rows_total + row] : INFINITY;
    prm_s[3][r] = r < rows ? a.params[3 * a.rows_total + row] : 0.0f;
    cnt_s[r] = 0;
  }
  __syncthreads();

  // 1. Filter: 8 lanes per key, 4 keys per warp step, kUnroll steps per iteration (their code
  //    loads are issued together); lane kl of a key owns bytes [16 kl, 16 kl + 16) of every
  //    128-byte step (sketch::LaneDot).
  const u64 begin = split * a.keys_per_split;
  const u64 end = min(begin + a.keys_per_split, a.n);
  const int kl = lane % kLanesPerKey, kk = lane / kLanesPerKey;
  const int8_t* cb = a.codes + g * a.n * a.d_pad;
  const float* ab = a.a + g * a.n;
  const float* wb = a.w + g * a.n;
  constexpr u64 kStep = static_cast<u64>(kKeysPerWarp) * kUnroll;
  for (u64 j0 = begin + static_cast<u64>(warp) * kStep; j0 < end; j0 += kWarps * kStep) {
    u64 j[kUnroll];
    bool valid[kUnroll];
    int hi[kUnroll][kRB], lo[kUnroll][kRB];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      j[u] = j0 + u * kKeysPerWarp + kk;
      valid[u] = j[u] < end;
#pragma unroll
      for (int r = 0; r < kRB; ++r) hi[u][r] = lo[u][r] = 0;
    }
    for (u64 c = static_cast<u64>(kl) * kBytesPerLane; c < a.d_pad;
         c += kBytesPerLane * kLanesPerKey) {
      uint4 k4[kUnroll];
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) {
        k4[u] = valid[u] ? __ldg(reinterpret_cast<const uint4*>(cb + j[u] * a.d_pad + c))
                         : make_uint4(0u, 0u, 0u, 0u);  // zero codes: I = 0, never used
      }
#pragma unroll
      for (int r = 0; r < kRB; ++r) {
        const uint4 h4 = *reinterpret_cast<const uint4*>(qhi_s + r * a.d_pad + c);
        const uint4 l4 = *reinterpret_cast<const uint4*>(qlo_s + r * a.d_pad + c);
#pragma unroll
        for (int u = 0; u < kUnroll; ++u) {
          hi[u][r] = sketch::Dp4aSS(h4.x, k4[u].x, hi[u][r]);
          hi[u][r] = sketch::Dp4aSS(h4.y, k4[u].y, hi[u][r]);
          hi[u][r] = sketch::Dp4aSS(h4.z, k4[u].z, hi[u][r]);
          hi[u][r] = sketch::Dp4aSS(h4.w, k4[u].w, hi[u][r]);
          lo[u][r] = sketch::Dp4aUS(l4.x, k4[u].x, lo[u][r]);
          lo[u][r] = sketch::Dp4aUS(l4.y, k4[u].y, lo[u][r]);
          lo[u][r] = sketch::Dp4aUS(l4.z, k4[u].z, lo[u][r]);
          lo[u][r] = sketch::Dp4aUS(l4.w, k4[u].w, lo[u][r]);
        }
      }
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      // Sum over the key's 8 lanes modulo 2^32 (exact: sketch_code.h); lane kl owns row kl.
      uint32_t mine = 0;
#pragma unroll
      for (int r = 0; r < kRB; ++r) {
        uint32_t s = sketch::CombineHiLo(hi[u][r], lo[u][r]);
#pragma unroll
        for (int off = kLanesPerKey / 2; off > 0; off >>= 1) s += __shfl_xor_sync(kFull, s, off);
        if (kl == r) mine = s;
      }
      if (valid[u] && kl < rows) {
        const float ub = sketch::SketchBound(prm_s[0][kl], __ldg(ab + j[u]),
                                             sketch::WithOffset(mine, prm_s[3][kl]),
                                             prm_s[1][kl], __ldg(wb + j[u]));
        if (sketch::IsCandidate(ub, prm_s[2][kl])) {
          const unsigned at = atomicAdd(&cnt_s[kl], 1u);  // < keys_per_split: fits the segment
          a.cand[(row_base + kl) * a.cand_capacity + begin + at] = static_cast<uint32_t>(j[u]);
        }
      }
    }
  }
  __syncthreads();  // candidates (global) and cnt_s visible to the whole block

  // 2. Recheck every candidate by the scan's own score; report s > b as the scan filter does.
  const T* kb = static_cast<const T*>(a.k) + g * a.n * a.dk_pad;
#pragma unroll 1
  for (int r = 0; r < rows; ++r) {
    const u64 row = row_base + r;
    const unsigned count = cnt_s[r];
    const float thr = a.b[row];
    const uint32_t* list = a.cand + row * a.cand_capacity + begin;
    for (unsigned t = warp; t < count; t += kWarps) {
      const uint32_t j = list[t];
      float dot[kRB];
      ScoreRows(q_s, kb + static_cast<u64>(j) * a.dk_pad, a.dk_pad, lane, dot);
      float mine = dot[0];  // dot[r] without a dynamically indexed (local memory) array
#pragma unroll
      for (int x = 1; x < kRB; ++x) mine = x == r ? dot[x] : mine;
      if (lane == 0) {
        const float s = a.scale * mine;
        if (s > thr) {  // strict, as every index (docs/design.md §1)
          const unsigned at = atomicAdd(&a.counts[row], 1u);
          if (at < a.capacity) {
            a.ids[row * a.capacity + at] = j;
            a.scores[row * a.capacity + at] = s;
          }
        }
      }
    }
    if (threadIdx.x == 0 && count > 0) atomicAdd(&a.cand_counts[row], count);
  }
}

const void* Kernel(KvDtype dtype) {
  switch (dtype) {
    case KvDtype::kF16: return reinterpret_cast<const void*>(&SketchFilterKernel<__half>);
    case KvDtype::kBf16: return reinterpret_cast<const void*>(&SketchFilterKernel<__nv_bfloat16>);
    default: return reinterpret_cast<const void*>(&SketchFilterKernel<float>);
  }
}

}  // namespace

void LaunchSketchFilter(const DecodePlan& plan, const SketchFilterArgs& in) {
  const size_t rows = plan.rows_per_kv * plan.kv_heads;
  if (rows == 0) return;
  HSR_CUDA_CHECK(cudaMemset(in.counts, 0, rows * sizeof(unsigned)));
  HSR_CUDA_CHECK(cudaMemset(in.cand_counts, 0, rows * sizeof(unsigned)));
  if (in.n == 0) return;
  Args a{};
  a.k = in.k;
  a.codes = in.codes;
  a.a = in.a;
  a.w = in.w;
  a.n = in.n;
  a.d_pad = in.d_pad;
  a.dk_pad = plan.dk_pad;
  a.rows_per_kv = plan.rows_per_kv;
  a.keys_per_split = plan.keys_per_split;
  a.cand_capacity = in.cand_capacity;
  a.capacity = in.capacity;
  a.qhi = in.qhi;
  a.qlo = in.qlo;
  a.params = in.params;
  a.rows_total = rows;
  a.q = in.q;
  a.b = in.b;
  a.scale = in.scale;
  a.cand = in.cand;
  a.cand_counts = in.cand_counts;
  a.counts = in.counts;
  a.ids = in.ids;
  a.scores = in.scores;
  const dim3 grid(static_cast<unsigned>(plan.row_groups), static_cast<unsigned>(plan.splits),
                  static_cast<unsigned>(plan.kv_heads));
  const size_t smem = sizeof(float) * kRowsPerBlock * plan.dk_pad + 2 * kRowsPerBlock * in.d_pad;
  void* params[] = {&a};
  HSR_CUDA_CHECK(cudaLaunchKernel(Kernel(in.dtype), grid, dim3(kThreads), params, smem, nullptr));
}

}  // namespace hsr::gpu
