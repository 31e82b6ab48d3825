// Per-target ScoreBlock: the scores of ScoreRun (score-inl.h), bit for bit, computed faster.
//
// Each key's dot keeps ScoreRun's operation sequence exactly: the even / odd vector FMA chains
// over the full vectors of d, their Add, then SumOfLanes. On AVX2 with d % 8 == 0 the
// horizontal sums of eight keys are done together by a transposed reduction that performs,
// lane for lane, the same additions (in a commuted order, which IEEE addition does not see) as
// x86_256-inl.h's SumOfLanes: (x_i + x_{i+4}) for i < 4, then (y_0 + y_2) + (y_1 + y_3); on
// AVX3 / AVX3_DL with d % 16 == 0 sixteen keys are reduced together in the same way as
// x86_512-inl.h's SumOfLanes (_mm512_reduce_add_ps). The scale multiply is then done on the
// vector of sums. Other targets, other d and the keys after the last whole block go one key at
// a time (DotOne: ScoreRun's per-key sequence) or through ScoreRun, in the order asked for.
//
// Two key orders, the same scores: `stream` reads the keys one row after the other (the order
// the hardware prefetchers follow best when K comes from DRAM), otherwise four rows are
// interleaved (more independent FMA chains). On the AVX2-only VM: row order 12-16% faster
// from DRAM (n = 2^20, d = 128, one thread), interleaved 15-17% faster in cache. On Zen 4
// the interleaved order from DRAM is the AVX-512 slowdown: AVX3 ignored `stream` and ran
// ScoreRun's interleaved order: dense ReLU^2 decode at `paper`, n = 2^16, d = 128, cold,
// 1 thread, two runs alternating with the old binary: AVX3 3273-3442 -> 1230-1620 us,
// AVX3_DL 3375-3530 -> 1173-1678 us, AVX2 (already row order) 1172-1349 us.
// Test: core/attention/dense_hwy_test.cc (both orders bit-identical; dense-hwy vs the oracle).
//
// Include inside a Highway dispatch unit (after hwy/highway.h), as hwy/examples/skeleton-inl.h.

#if defined(HSR_CORE_ATTENTION_SCORE_BLOCK_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef HSR_CORE_ATTENTION_SCORE_BLOCK_INL_H_
#undef HSR_CORE_ATTENTION_SCORE_BLOCK_INL_H_
#else
#define HSR_CORE_ATTENTION_SCORE_BLOCK_INL_H_
#endif

#include <stddef.h>

#include "core/attention/score-inl.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace hsr {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if HWY_TARGET == HWY_AVX2
// v[i] = key i's DotChains vector; returns the vector of the eight keys' SumOfLanes.
HWY_INLINE __m256 SumOfLanes8(const hn::Vec256<float>* v) {
  const __m256 t[8] = {v[0].raw, v[1].raw, v[2].raw, v[3].raw,
                       v[4].raw, v[5].raw, v[6].raw, v[7].raw};
  const __m256 y04 = _mm256_add_ps(_mm256_permute2f128_ps(t[0], t[4], 0x20),
                                   _mm256_permute2f128_ps(t[0], t[4], 0x31));
  const __m256 y15 = _mm256_add_ps(_mm256_permute2f128_ps(t[1], t[5], 0x20),
                                   _mm256_permute2f128_ps(t[1], t[5], 0x31));
  const __m256 y26 = _mm256_add_ps(_mm256_permute2f128_ps(t[2], t[6], 0x20),
                                   _mm256_permute2f128_ps(t[2], t[6], 0x31));
  const __m256 y37 = _mm256_add_ps(_mm256_permute2f128_ps(t[3], t[7], 0x20),
                                   _mm256_permute2f128_ps(t[3], t[7], 0x31));
  // z = [y0_0+y0_2, y0_1+y0_3, y1_0+y1_2, y1_1+y1_3 | same for 4, 5]
  const __m256 z01 = _mm256_add_ps(_mm256_shuffle_ps(y04, y15, _MM_SHUFFLE(1, 0, 1, 0)),
                                   _mm256_shuffle_ps(y04, y15, _MM_SHUFFLE(3, 2, 3, 2)));
  const __m256 z23 = _mm256_add_ps(_mm256_shuffle_ps(y26, y37, _MM_SHUFFLE(1, 0, 1, 0)),
                                   _mm256_shuffle_ps(y26, y37, _MM_SHUFFLE(3, 2, 3, 2)));
  // [s0 s1 s2 s3 | s4 s5 s6 s7]
  return _mm256_add_ps(_mm256_shuffle_ps(z01, z23, _MM_SHUFFLE(2, 0, 2, 0)),
                       _mm256_shuffle_ps(z01, z23, _MM_SHUFFLE(3, 1, 3, 1)));
}

#endif  // HWY_TARGET == HWY_AVX2

#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
// v[i] = key i's DotChains vector; returns the vector of the sixteen keys' SumOfLanes
// (x86_512-inl.h: _mm512_reduce_add_ps), lane for lane the same additions in a commuted
// order: y_i = x_i + x_{i+8} (i < 8), z_i = y_i + y_{i+4} (i < 4), (z_0 + z_2) + (z_1 + z_3).
// _mm512_shuffle_f32x4 passes _mm512_undefined_ps() as its unused source, which GCC 12 may
// report as maybe-uninitialized once inlined (x86_512-inl.h turns the warning off likewise).
HWY_DIAGNOSTICS(push)
HWY_DIAGNOSTICS_OFF(disable : 4701, ignored "-Wmaybe-uninitialized")
HWY_INLINE __m512 SumOfLanes16(const hn::Vec512<float>* v) {
  // Keys r and r + 4 (r in 0..3, 8..11) share a vector: [y_r | y_{r+4}], 8 lanes each.
  __m512 y[8];
  for (size_t i = 0; i < 8; ++i) {
    const size_t r = i < 4 ? i : i + 4;
    const __m512 a = v[r].raw, b = v[r + 4].raw;
    y[i] = _mm512_add_ps(_mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(1, 0, 1, 0)),
                         _mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(3, 2, 3, 2)));
  }
  // [z_r | z_{r+4} | z_{r+8} | z_{r+12}], 4 lanes each, r in 0..3.
  __m512 z[4];
  for (size_t r = 0; r < 4; ++r) {
    const __m512 a = y[r], b = y[r + 4];
    z[r] = _mm512_add_ps(_mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(2, 0, 2, 0)),
                         _mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(3, 1, 3, 1)));
  }
  // Per 128-bit block c: [w0, w1 of key 4c + 2r, w0, w1 of key 4c + 2r + 1], w0 = z_0 + z_2,
  // w1 = z_1 + z_3.
  const __m512 w01 = _mm512_add_ps(_mm512_shuffle_ps(z[0], z[1], _MM_SHUFFLE(1, 0, 1, 0)),
                                   _mm512_shuffle_ps(z[0], z[1], _MM_SHUFFLE(3, 2, 3, 2)));
  const __m512 w23 = _mm512_add_ps(_mm512_shuffle_ps(z[2], z[3], _MM_SHUFFLE(1, 0, 1, 0)),
                                   _mm512_shuffle_ps(z[2], z[3], _MM_SHUFFLE(3, 2, 3, 2)));
  // [s0 .. s15]
  return _mm512_add_ps(_mm512_shuffle_ps(w01, w23, _MM_SHUFFLE(2, 0, 2, 0)),
                       _mm512_shuffle_ps(w01, w23, _MM_SHUFFLE(3, 1, 3, 1)));
}
HWY_DIAGNOSTICS(pop)
#endif  // HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL

#if HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
#if HWY_TARGET == HWY_AVX2
using BlockTag = hn::Full256<float>;
HWY_INLINE hn::Vec256<float> BlockSums(const hn::Vec256<float>* v) {
  return hn::Vec256<float>{SumOfLanes8(v)};
}
#else
using BlockTag = hn::Full512<float>;
HWY_INLINE hn::Vec512<float> BlockSums(const hn::Vec512<float>* v) {
  return hn::Vec512<float>{SumOfLanes16(v)};
}
#endif
// One key per lane: the keys of a block are reduced together by BlockSums.
constexpr size_t kBlockKeys = hn::MaxLanes(BlockTag());

// Scores of the whole blocks of kBlockKeys keys in [0, count) (dim % kBlockKeys == 0; kDim:
// dim as a constant, 0 when it is only known at run time). Returns the keys scored.
template <size_t kDim>
HWY_INLINE size_t ScoreBlocks(const float* HWY_RESTRICT q, const float* HWY_RESTRICT k,
                              size_t k_stride, size_t dim, size_t count, float scale,
                              float* HWY_RESTRICT scores, bool stream) {
  const BlockTag df;  // dim % kBlockKeys == 0: every vector is full
  if constexpr (kDim != 0) dim = kDim;
  const auto sv = hn::Set(df, scale);
  size_t j = 0;
  for (; j + kBlockKeys <= count; j += kBlockKeys) {
    hn::Vec<BlockTag> sums[kBlockKeys];
    if (stream) {
      for (size_t r = 0; r < kBlockKeys; ++r) {
        DotChains<1, /*kStreamed=*/true>(df, q, k + (j + r) * k_stride, /*k_stride=*/0, dim,
                                         sums + r);
      }
    } else {
      for (size_t r = 0; r < kBlockKeys; r += 4) {
        DotChains<4>(df, q, k + (j + r) * k_stride, k_stride, dim, sums + r);
      }
    }
    hn::StoreU(hn::Mul(sv, BlockSums(sums)), df, scores + j);
  }
  return j;
}
#endif

// scores[j] = ScoreRun's score of key j (bit-identical), j in [0, count).
HWY_INLINE void ScoreBlock(const float* HWY_RESTRICT q, const float* HWY_RESTRICT k,
                           size_t k_stride, size_t dim, size_t count, float scale,
                           float* HWY_RESTRICT scores, bool stream) {
  size_t j = 0;
#if HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  // The common head dims as constants: the dot loops unroll and q's loads leave the key loop,
  // which is what made the row order slower in cache (--cold off, n = 4096, d = 64, ReLU^2
  // at paper, 1 thread, 2 runs: 18.4-18.7 -> 16.4-16.8 us on AVX2, 18.4-18.6 -> 15.8-16.2 us
  // on AVX3, where the interleaved order takes 16.1-17.8 us).
  if (dim == 64) {
    j = ScoreBlocks<64>(q, k, k_stride, dim, count, scale, scores, stream);
  } else if (dim == 128) {
    j = ScoreBlocks<128>(q, k, k_stride, dim, count, scale, scores, stream);
  } else if (dim % kBlockKeys == 0) {
    j = ScoreBlocks<0>(q, k, k_stride, dim, count, scale, scores, stream);
  }
#endif
  if (j == count) return;
  k += j * k_stride;
  scores += j;
  count -= j;
  if (stream) {  // the row order, one key at a time: DotOne is ScoreRun's per-key sequence
    const hn::ScalableTag<float> df;
    const size_t full = dim - dim % hn::Lanes(df);
    for (j = 0; j < count; ++j) scores[j] = scale * DotOne(df, q, k + j * k_stride, full, dim);
  } else {
    ScoreRun(q, k, k_stride, dim, count, scale, scores);
  }
}

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace hsr
HWY_AFTER_NAMESPACE();

#endif  // HSR_CORE_ATTENTION_SCORE_BLOCK_INL_H_
