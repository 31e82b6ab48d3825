// Per-target score tile kernel, queries in lanes: S^T[j][lanes] = <K row j, Q^T lanes> for a
// block of TileRows = 2 vectors of query rows (Q^T is d x W, W = TileRows) and a run of keys,
// kKeyRows keys x 2 vectors of accumulators in registers. Used by the dense-hwy prefill tiles
// (dense_tile-inl.h) and by the batched half-space report (core/index/batch_report.cc), so both
// score with the same kernel.
//
// Rounding (for certified bounds built on it): each lane is a plain FMA chain over c = 0..d-1,
// so every product passes through at most d roundings and
//   |S^T[j][lane] - <k_j, q_lane>| <= gamma_d sum_c |k_jc q_c| + d eta
//                                 <= gamma_d ||k_j|| ||q|| + d eta   (Higham 3.1; eta: subnormal).
// Include inside a Highway dispatch unit after hwy/highway.h.

#if defined(HSR_CORE_ATTENTION_SCORE_TILE_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef HSR_CORE_ATTENTION_SCORE_TILE_INL_H_
#undef HSR_CORE_ATTENTION_SCORE_TILE_INL_H_
#else
#define HSR_CORE_ATTENTION_SCORE_TILE_INL_H_
#endif

#include <stddef.h>

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace hsr {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Register blocking: 2 * kKeyRows accumulators; 32 vector registers on AVX-512, 16 elsewhere.
#if HWY_TARGET <= HWY_AVX3
constexpr size_t kKeyRows = 8;
#else
constexpr size_t kKeyRows = 6;  // 12 accumulators + 2 operands + 1 broadcast = 15 of 16
#endif

// Query rows per tile: 2 vectors of lanes.
template <class D>
HWY_INLINE size_t TileRows(D df) {
  return 2 * hn::Lanes(df);
}

// st[(jj) * W + lanes] = <K row jj, Q^T lanes> (unscaled) for jj in [0, kR).
template <size_t kR, class D>
HWY_INLINE void ScoreKeys(D df, const float* HWY_RESTRICT qt, const float* k, size_t k_stride,
                          size_t d, float* HWY_RESTRICT st) {
  const size_t N = hn::Lanes(df);
  const size_t W = 2 * N;
  hn::Vec<D> a0[kR], a1[kR];
  const float* kr[kR];
  HWY_UNROLL(8)
  for (size_t r = 0; r < kR; ++r) {
    a0[r] = hn::Zero(df);
    a1[r] = hn::Zero(df);
    kr[r] = k + r * k_stride;
  }
  for (size_t c = 0; c < d; ++c) {
    const auto q0 = hn::Load(df, qt + c * W);
    const auto q1 = hn::Load(df, qt + c * W + N);
    HWY_UNROLL(8)
    for (size_t r = 0; r < kR; ++r) {
      const auto kv = hn::Set(df, kr[r][c]);
      a0[r] = hn::MulAdd(kv, q0, a0[r]);
      a1[r] = hn::MulAdd(kv, q1, a1[r]);
    }
  }
  HWY_UNROLL(8)
  for (size_t r = 0; r < kR; ++r) {
    hn::Store(a0[r], df, st + r * W);
    hn::Store(a1[r], df, st + r * W + N);
  }
}

// The last r < kKeyRows keys in one block of r (one key at a time would leave a chain of 2
// dependent FMAs per c: at 64-key tiles and kKeyRows = 6 the 4 leftover keys cost ~1/4 of the
// tile that way).
template <size_t kR, class D>
HWY_INLINE void ScoreRest(D df, const float* HWY_RESTRICT qt, const float* k, size_t k_stride,
                          size_t d, size_t r, float* HWY_RESTRICT st) {
  if constexpr (kR > 0) {
    if (r == kR) return ScoreKeys<kR>(df, qt, k, k_stride, d, st);
    ScoreRest<kR - 1>(df, qt, k, k_stride, d, r, st);
  }
}

// st[(jj) * W + lanes] for the bk keys k, k + k_stride, ... (kKeyRows at a time, then the rest
// in one block).
template <class D>
HWY_INLINE void ScoreTile(D df, const float* HWY_RESTRICT qt, const float* k, size_t k_stride,
                          size_t d, size_t bk, float* HWY_RESTRICT st) {
  const size_t W = TileRows(df);
  size_t jj = 0;
  for (; jj + kKeyRows <= bk; jj += kKeyRows) {
    ScoreKeys<kKeyRows>(df, qt, k + jj * k_stride, k_stride, d, st + jj * W);
  }
  ScoreRest<kKeyRows - 1>(df, qt, k + jj * k_stride, k_stride, d, bk - jj, st + jj * W);
}

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace hsr
HWY_AFTER_NAMESPACE();

#endif  // HSR_CORE_ATTENTION_SCORE_TILE_INL_H_
