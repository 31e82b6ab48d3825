// Per-target sparse accumulation for HSR attention: scores of a list of key ids with the one
// shared score kernel (core/attention/score-inl.h, so a reported key gets exactly the score the
// index rechecked), and acc[c] += sum_j w_j V[id_j][c] over gathered value rows.
// Reference: dense_ref.cc's row loop (float64); test: verify/tests/hsr_props.cc.
// Include inside a Highway dispatch unit after hwy/highway.h (skeleton-inl.h pattern).

#if defined(HSR_CORE_HSR_GATHER_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef HSR_CORE_HSR_GATHER_INL_H_
#undef HSR_CORE_HSR_GATHER_INL_H_
#else
#define HSR_CORE_HSR_GATHER_INL_H_
#endif

#include <stddef.h>
#include <stdint.h>

#include "core/attention/score-inl.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace hsr {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

constexpr size_t kPrefetchAhead = 8;  // rows in flight while gathering scattered ids

// scores[i] = ScoreRun(q, K[ids[i]]) (K rows of d floats, stride d), i in [0, count).
HWY_INLINE void ScoreIdsImpl(const float* HWY_RESTRICT q, const float* HWY_RESTRICT k, size_t d,
                             const uint32_t* HWY_RESTRICT ids, size_t count, float scale,
                             float* HWY_RESTRICT scores) {
  for (size_t i = 0; i < count; ++i) {
    // Rows are scattered: prefetch the row kPrefetchAhead ids ahead (every cache line of it).
    if (i + kPrefetchAhead < count) PrefetchRow(k + static_cast<size_t>(ids[i + kPrefetchAhead]) * d, d);
    ScoreRun(q, k + static_cast<size_t>(ids[i]) * d, d, d, 1, scale, scores + i);
  }
}

// acc[c] += sum_i w[i] * V[ids[i]][c] for one block of ids (their rows fit in L1); V rows of
// dv floats, stride dv. Columns in blocks of eight (then four, one) vectors held in registers
// while the block's rows stream past; the first column pass prefetches rows kPrefetchAhead ids
// ahead, up to `avail` ids (>= count) from ids on.
HWY_INLINE void GatherBlock(const float* HWY_RESTRICT v, size_t dv,
                            const uint32_t* HWY_RESTRICT ids, const float* HWY_RESTRICT w,
                            size_t count, size_t avail, float* HWY_RESTRICT acc) {
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df);
  size_t c = 0;
  // Eight vectors per pass first (dv = 64 on AVX2 is one pass: each row is read once).
  for (; c + 8 * N <= dv; c += 8 * N) {
    auto a0 = hn::LoadU(df, acc + c), a1 = hn::LoadU(df, acc + c + N);
    auto a2 = hn::LoadU(df, acc + c + 2 * N), a3 = hn::LoadU(df, acc + c + 3 * N);
    auto a4 = hn::LoadU(df, acc + c + 4 * N), a5 = hn::LoadU(df, acc + c + 5 * N);
    auto a6 = hn::LoadU(df, acc + c + 6 * N), a7 = hn::LoadU(df, acc + c + 7 * N);
    for (size_t i = 0; i < count; ++i) {
      if (c == 0 && i + kPrefetchAhead < avail) {
        PrefetchRow(v + static_cast<size_t>(ids[i + kPrefetchAhead]) * dv, dv);
      }
      const float* row = v + static_cast<size_t>(ids[i]) * dv + c;
      const auto wi = hn::Set(df, w[i]);
      a0 = hn::MulAdd(wi, hn::LoadU(df, row), a0);
      a1 = hn::MulAdd(wi, hn::LoadU(df, row + N), a1);
      a2 = hn::MulAdd(wi, hn::LoadU(df, row + 2 * N), a2);
      a3 = hn::MulAdd(wi, hn::LoadU(df, row + 3 * N), a3);
      a4 = hn::MulAdd(wi, hn::LoadU(df, row + 4 * N), a4);
      a5 = hn::MulAdd(wi, hn::LoadU(df, row + 5 * N), a5);
      a6 = hn::MulAdd(wi, hn::LoadU(df, row + 6 * N), a6);
      a7 = hn::MulAdd(wi, hn::LoadU(df, row + 7 * N), a7);
    }
    hn::StoreU(a0, df, acc + c);
    hn::StoreU(a1, df, acc + c + N);
    hn::StoreU(a2, df, acc + c + 2 * N);
    hn::StoreU(a3, df, acc + c + 3 * N);
    hn::StoreU(a4, df, acc + c + 4 * N);
    hn::StoreU(a5, df, acc + c + 5 * N);
    hn::StoreU(a6, df, acc + c + 6 * N);
    hn::StoreU(a7, df, acc + c + 7 * N);
  }
  for (; c + 4 * N <= dv; c += 4 * N) {
    auto a0 = hn::LoadU(df, acc + c), a1 = hn::LoadU(df, acc + c + N);
    auto a2 = hn::LoadU(df, acc + c + 2 * N), a3 = hn::LoadU(df, acc + c + 3 * N);
    for (size_t i = 0; i < count; ++i) {
      // The first column block prefetches whole rows: later blocks find them in cache.
      if (c < 4 * N && i + kPrefetchAhead < avail) {
        PrefetchRow(v + static_cast<size_t>(ids[i + kPrefetchAhead]) * dv, dv);
      }
      const float* row = v + static_cast<size_t>(ids[i]) * dv + c;
      const auto wi = hn::Set(df, w[i]);
      a0 = hn::MulAdd(wi, hn::LoadU(df, row), a0);
      a1 = hn::MulAdd(wi, hn::LoadU(df, row + N), a1);
      a2 = hn::MulAdd(wi, hn::LoadU(df, row + 2 * N), a2);
      a3 = hn::MulAdd(wi, hn::LoadU(df, row + 3 * N), a3);
    }
    hn::StoreU(a0, df, acc + c);
    hn::StoreU(a1, df, acc + c + N);
    hn::StoreU(a2, df, acc + c + 2 * N);
    hn::StoreU(a3, df, acc + c + 3 * N);
  }
  for (; c + N <= dv; c += N) {
    auto a0 = hn::LoadU(df, acc + c);
    for (size_t i = 0; i < count; ++i) {
      a0 = hn::MulAdd(hn::Set(df, w[i]), hn::LoadU(df, v + static_cast<size_t>(ids[i]) * dv + c),
                      a0);
    }
    hn::StoreU(a0, df, acc + c);
  }
  for (; c < dv; ++c) {
    float s = acc[c];
    for (size_t i = 0; i < count; ++i) s += w[i] * v[static_cast<size_t>(ids[i]) * dv + c];
    acc[c] = s;
  }
}

// acc[c] += sum_i w[i] * V[ids[i]][c] for c in [0, dv), i in [0, count). Ids in blocks of
// kGatherIds so that the later column passes (dv > 8 vectors) find the rows in L1; each
// accumulator lane still adds the rows in id order, so the blocking does not change results.
constexpr size_t kGatherIds = 32;
HWY_INLINE void GatherAccumulateImpl(const float* HWY_RESTRICT v, size_t dv,
                                     const uint32_t* HWY_RESTRICT ids,
                                     const float* HWY_RESTRICT w, size_t count,
                                     float* HWY_RESTRICT acc) {
  for (size_t i0 = 0; i0 < count; i0 += kGatherIds) {
    const size_t bc = count - i0 < kGatherIds ? count - i0 : kGatherIds;
    GatherBlock(v, dv, ids + i0, w + i0, bc, count - i0, acc);
  }
}

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace hsr
HWY_AFTER_NAMESPACE();

#endif  // HSR_CORE_HSR_GATHER_INL_H_
