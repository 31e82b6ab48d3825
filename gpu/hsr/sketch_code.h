// The arithmetic of the GPU sketch8 filter (gpu/hsr/sketch_decode.cu) as host/device functions,
// so that host tests run the very code the kernel runs (the device branches only swap in the
// dp4a instruction and explicit round-to-nearest float ops, whose results are the same).
//
// Exact integer dot I_j = <q16, k8_j> + D, sketch8's I_j (sketch8.cc: |q16_c| <= 8191, D >= 0
// the query's quantisation-error offset, |I_j| < 2^31 by sketch8's Qmax), over the codes as
// row-major int8 rows of d_pad = CodeRowPad(d) bytes (Sketch8Index::CopyCodeRows):
//   q16 = 256 hi + lo with hi = floor(q16 / 256) in [-128, 127] (signed byte) and lo in [0, 255]
//   (unsigned byte), for every int16 (SplitQ16). Per lane, dp4a sums 4 byte products into an
//   int32: Hi = sum hi_c k_c (dp4a.s32.s32) and Lo = sum lo_c k_c (dp4a.u32.s32); no partial sum
//   overflows (|Hi| <= 128 127 d_pad, |Lo| <= 255 127 d_pad, both < 2^26 for d_pad <= 1024).
//   Then 256 Hi + Lo, the sums over lanes and + D are taken in uint32, i.e. modulo 2^32: 256 Hi
//   alone may exceed 2^31 at d_pad = 1024, but modular addition is exact and associative, so the
//   result is I_j mod 2^32, and since |I_j| < 2^31 its two's-complement reading is I_j itself.
// Bound: ub_j = fl(fl(T a_j) fl(I_j) + fl(Qn w_j)) with one fused multiply-add, the order of
//   sketch8's vector ChunkBounds (hn::MulAdd(y, x, z)); candidate iff !(ub_j <= b_eff).
// Score rounding of the recheck (decode_common.cuh ScoreRows): why sketch8's w_j and tiny cover
//   the GPU score as they cover ScoreRun: see GpuScoreRoundings below and sketch_kv.h.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#if defined(__CUDACC__)
#define HSR_HD __host__ __device__ __forceinline__
#else
#define HSR_HD inline
#endif

namespace hsr::gpu::sketch {

// Bytes per code row on the device: d rounded up to a multiple of 32 (kBytesPerLane steps).
inline size_t CodeRowPad(size_t d) { return (d + 31) / 32 * 32; }

// Key codes per lane step: one 16-byte load = 16 int8 codes; 8 lanes per key cover 128 codes
// per step, so a warp scores 4 keys at a time (d_pad is a multiple of 32, rows 32-byte aligned).
inline constexpr int kBytesPerLane = 16;
inline constexpr int kLanesPerKey = 8;
inline constexpr int kKeysPerWarp = 32 / kLanesPerKey;

// q16 = 256 hi + lo, hi in [-128, 127], lo in [0, 255], exactly for every int16 value.
HSR_HD void SplitQ16(int16_t q, int8_t* hi, uint8_t* lo) {
  const int v = q;
  const int h = (v >= 0) ? (v >> 8) : -((-v + 255) >> 8);  // floor(v / 256) without UB
  *hi = static_cast<int8_t>(h);
  *lo = static_cast<uint8_t>(v - 256 * h);
}

// Byte i of a 32-bit word (little endian), as signed / unsigned.
HSR_HD int SByte(uint32_t w, int i) { return static_cast<int8_t>((w >> (8 * i)) & 0xFFu); }
HSR_HD int UByte(uint32_t w, int i) { return static_cast<int>((w >> (8 * i)) & 0xFFu); }

// c + sum_i a_i b_i over the 4 signed bytes of a and b (dp4a.s32.s32).
HSR_HD int Dp4aSS(uint32_t a, uint32_t b, int c) {
#if defined(__CUDA_ARCH__)
  int d;
  asm("dp4a.s32.s32 %0, %1, %2, %3;" : "=r"(d) : "r"(a), "r"(b), "r"(c));
  return d;
#else
  for (int i = 0; i < 4; ++i) c += SByte(a, i) * SByte(b, i);
  return c;
#endif
}

// c + sum_i a_i b_i with a's bytes unsigned and b's signed (dp4a.u32.s32).
HSR_HD int Dp4aUS(uint32_t a, uint32_t b, int c) {
#if defined(__CUDA_ARCH__)
  int d;
  asm("dp4a.u32.s32 %0, %1, %2, %3;" : "=r"(d) : "r"(a), "r"(b), "r"(c));
  return d;
#else
  for (int i = 0; i < 4; ++i) c += UByte(a, i) * SByte(b, i);
  return c;
#endif
}

// 256 Hi + Lo modulo 2^32 (see the file comment).
HSR_HD uint32_t CombineHiLo(int hi, int lo) {
  return static_cast<uint32_t>(hi) * 256u + static_cast<uint32_t>(lo);
}

// The lane's share of I for one key: words [lane_word, lane_word + 4) of every 32-word step
// (kBytesPerLane bytes per lane, kLanesPerKey lanes per key), q split into hi / lo byte rows.
// The kernel inlines the same loop; the host test sums lanes modulo 2^32 as the shuffles do.
HSR_HD uint32_t LaneDot(const uint32_t* qhi, const uint32_t* qlo, const uint32_t* code,
                        int lane_in_key, int d_pad) {
  int hi = 0, lo = 0;
  for (int c = lane_in_key * kBytesPerLane; c < d_pad; c += kBytesPerLane * kLanesPerKey) {
    for (int w = 0; w < kBytesPerLane / 4; ++w) {
      const int x = c / 4 + w;
      hi = Dp4aSS(qhi[x], code[x], hi);
      lo = Dp4aUS(qlo[x], code[x], lo);
    }
  }
  return CombineHiLo(hi, lo);
}

// I = the lanes' sum + D modulo 2^32, read as int32 (see the file comment). D is handed to the
// kernel as a float holding an integer below 2^24 (exact; sketch_kv.cc checks it).
HSR_HD int WithOffset(uint32_t lane_sum, float D) {
  return static_cast<int>(lane_sum + static_cast<uint32_t>(static_cast<int>(D)));
}

// ub = fl(fl(T a) fl(I) + fl(Qn w)), one rounding for the multiply-add (sketch8's MulAdd).
HSR_HD float SketchBound(float T, float a, int I, float Qn, float w) {
#if defined(__CUDA_ARCH__)
  return __fmaf_rn(__fmul_rn(T, a), __int2float_rn(I), __fmul_rn(Qn, w));
#else
  const float y = T * a;
  const float z = Qn * w;
  return std::fma(y, static_cast<float>(I), z);
#endif
}

// The filter's test: NaN bounds are candidates (never skip a key on an untrusted value).
HSR_HD bool IsCandidate(float ub, float b_eff) { return !(ub <= b_eff); }

// Roundings any product q_c k_c passes through in ScoreRows (decode_common.cuh) before the
// scale multiply: the lane's FMA chain (4 per 128-column step, dk_pad = d rounded up to 4) plus
// the 5 butterfly levels. sketch8's slack assumes ScoreRun's h = d + 32 (key_store.h
// ScoreRelErr); GpuScoreRoundings(dk_pad) <= d + 32 for every d >= 1 (sketch_kv.cc checks it).
HSR_HD int GpuScoreRoundings(int dk_pad) { return 4 * ((dk_pad + 127) / 128) + 5; }

}  // namespace hsr::gpu::sketch
