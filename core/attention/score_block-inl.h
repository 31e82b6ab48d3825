// Per-target ScoreBlock: the scores of ScoreRun (score-inl.h), bit for bit, computed faster.
//
// Each key's dot keeps ScoreRun's operation sequence exactly: the even / odd vector FMA chains
// over the full vectors of d, their Add, then SumOfLanes. On AVX2 with d % 8 == 0 the
// horizontal sums of eight keys are done together by a transposed reduction that performs,
// lane for lane, the same additions (in a commuted order, which IEEE addition does not see) as
// x86_256-inl.h's SumOfLanes: (x_i + x_{i+4}) for i < 4, then (y_0 + y_2) + (y_1 + y_3). The
// scale multiply is then done on the vector of eight sums. Other targets and other d call
// ScoreRun (in its own order: the key-order choice below was only measured on AVX2).
//
// Two key orders, the same scores: `stream` reads the keys one row after the other (the order
// the hardware prefetchers follow best when K comes from DRAM: dense decode at n = 2^20,
// d = 128, one thread, measured 12-16% faster than four interleaved rows), otherwise four
// rows are interleaved (more independent FMA chains: 15-17% faster when K is in cache).
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

// scores[j] = ScoreRun's score of key j (bit-identical), j in [0, count).
HWY_INLINE void ScoreBlock(const float* HWY_RESTRICT q, const float* HWY_RESTRICT k,
                           size_t k_stride, size_t dim, size_t count, float scale,
                           float* HWY_RESTRICT scores, bool stream) {
  size_t j = 0;
#if HWY_TARGET == HWY_AVX2
  if (dim % 8 == 0) {
    const __m256 sv = _mm256_set1_ps(scale);
    const hn::Full256<float> df;  // dim % 8 == 0: every vector is full
    for (; j + 8 <= count; j += 8) {
      hn::Vec<decltype(df)> sums[8];
      if (stream) {
        for (size_t r = 0; r < 8; ++r) {
          DotChains<1>(df, q, k + (j + r) * k_stride, /*k_stride=*/0, dim, sums + r);
        }
      } else {
        DotChains<4>(df, q, k + j * k_stride, k_stride, dim, sums);
        DotChains<4>(df, q, k + (j + 4) * k_stride, k_stride, dim, sums + 4);
      }
      _mm256_storeu_ps(scores + j, _mm256_mul_ps(sv, SumOfLanes8(sums)));
    }
  }
#else
  (void)stream;  // only measured (and used) on AVX2; other targets keep ScoreRun's order
#endif
  if (j < count) ScoreRun(q, k + j * k_stride, k_stride, dim, count - j, scale, scores + j);
}

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace hsr
HWY_AFTER_NAMESPACE();

#endif  // HSR_CORE_ATTENTION_SCORE_BLOCK_INL_H_
