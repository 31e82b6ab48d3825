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
// t[i] = a_i + b_i of key i; returns the vector of the eight keys' SumOfLanes.
HWY_INLINE __m256 SumOfLanes8(const __m256* t) {
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

// Four keys' a_i + b_i (ScoreRun's loop body, dim % 8 == 0) into t[0..4).
HWY_INLINE void DotSums4(const float* HWY_RESTRICT q, const float* k0, size_t k_stride,
                         size_t dim, __m256* t) {
  const hn::Full256<float> df;
  constexpr size_t N = 8;
  const float* k1 = k0 + k_stride;
  const float* k2 = k1 + k_stride;
  const float* k3 = k2 + k_stride;
  auto a0 = hn::Zero(df), a1 = hn::Zero(df), a2 = hn::Zero(df), a3 = hn::Zero(df);
  auto b0 = hn::Zero(df), b1 = hn::Zero(df), b2 = hn::Zero(df), b3 = hn::Zero(df);
  size_t c = 0;
  for (; c + 2 * N <= dim; c += 2 * N) {
    const auto qa = hn::LoadU(df, q + c);
    const auto qb = hn::LoadU(df, q + c + N);
    a0 = hn::MulAdd(qa, hn::LoadU(df, k0 + c), a0);
    a1 = hn::MulAdd(qa, hn::LoadU(df, k1 + c), a1);
    a2 = hn::MulAdd(qa, hn::LoadU(df, k2 + c), a2);
    a3 = hn::MulAdd(qa, hn::LoadU(df, k3 + c), a3);
    b0 = hn::MulAdd(qb, hn::LoadU(df, k0 + c + N), b0);
    b1 = hn::MulAdd(qb, hn::LoadU(df, k1 + c + N), b1);
    b2 = hn::MulAdd(qb, hn::LoadU(df, k2 + c + N), b2);
    b3 = hn::MulAdd(qb, hn::LoadU(df, k3 + c + N), b3);
  }
  if (c < dim) {
    const auto qa = hn::LoadU(df, q + c);
    a0 = hn::MulAdd(qa, hn::LoadU(df, k0 + c), a0);
    a1 = hn::MulAdd(qa, hn::LoadU(df, k1 + c), a1);
    a2 = hn::MulAdd(qa, hn::LoadU(df, k2 + c), a2);
    a3 = hn::MulAdd(qa, hn::LoadU(df, k3 + c), a3);
  }
  t[0] = hn::Add(a0, b0).raw;
  t[1] = hn::Add(a1, b1).raw;
  t[2] = hn::Add(a2, b2).raw;
  t[3] = hn::Add(a3, b3).raw;
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
    for (; j + 8 <= count; j += 8) {
      __m256 t[8];
      if (stream) {
        const hn::Full256<float> df;  // dim % 8 == 0: every vector is full
        for (size_t r = 0; r < 8; ++r) t[r] = DotChains(df, q, k + (j + r) * k_stride, dim).raw;
      } else {
        DotSums4(q, k + j * k_stride, k_stride, dim, t);
        DotSums4(q, k + (j + 4) * k_stride, k_stride, dim, t + 4);
      }
      _mm256_storeu_ps(scores + j, _mm256_mul_ps(sv, SumOfLanes8(t)));
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
