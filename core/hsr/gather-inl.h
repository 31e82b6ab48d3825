// Per-target sparse accumulation for HSR attention: acc[c] += sum_j w_j V[id_j][c] over
// gathered value rows (the scores of the ids come from ScoreIds in core/attention/score-inl.h,
// so a reported key gets exactly the score the index rechecked).
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

// acc[c'] += sum_i w[i] * V[ids[i]][c'] for the kVecs vectors of columns c' from c, held in
// registers while the block's rows stream past. prefetch: the pass also prefetches whole rows
// kScatterAhead ids ahead, up to `avail` ids (>= count) from ids on (later passes over the
// block find them in cache).
template <size_t kVecs, class D>
HWY_INLINE void GatherColumns(D df, const float* HWY_RESTRICT v, size_t dv, size_t c,
                              const uint32_t* HWY_RESTRICT ids, const float* HWY_RESTRICT w,
                              size_t count, size_t avail, bool prefetch,
                              float* HWY_RESTRICT acc) {
  const size_t N = hn::Lanes(df);
  hn::Vec<D> a[kVecs];
  HWY_UNROLL(8)
  for (size_t r = 0; r < kVecs; ++r) a[r] = hn::LoadU(df, acc + c + r * N);
  for (size_t i = 0; i < count; ++i) {
    if (prefetch && i + kScatterAhead < avail) {
      PrefetchRow(v + static_cast<size_t>(ids[i + kScatterAhead]) * dv, dv);
    }
    const float* row = v + static_cast<size_t>(ids[i]) * dv + c;
    const auto wi = hn::Set(df, w[i]);
    HWY_UNROLL(8)
    for (size_t r = 0; r < kVecs; ++r) a[r] = hn::MulAdd(wi, hn::LoadU(df, row + r * N), a[r]);
  }
  HWY_UNROLL(8)
  for (size_t r = 0; r < kVecs; ++r) hn::StoreU(a[r], df, acc + c + r * N);
}

// acc[c] += sum_i w[i] * V[ids[i]][c] for one block of ids (their rows fit in L1); V rows of
// dv floats, stride dv. Columns in passes of eight (then four, one) vectors; the first pass
// prefetches the rows (eight vectors: dv = 64 on AVX2 is one pass, each row read once).
HWY_INLINE void GatherBlock(const float* HWY_RESTRICT v, size_t dv,
                            const uint32_t* HWY_RESTRICT ids, const float* HWY_RESTRICT w,
                            size_t count, size_t avail, float* HWY_RESTRICT acc) {
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df);
  size_t c = 0;
  for (; c + 8 * N <= dv; c += 8 * N) {
    GatherColumns<8>(df, v, dv, c, ids, w, count, avail, /*prefetch=*/c == 0, acc);
  }
  for (; c + 4 * N <= dv; c += 4 * N) {
    GatherColumns<4>(df, v, dv, c, ids, w, count, avail, /*prefetch=*/c == 0, acc);
  }
  for (; c + N <= dv; c += N) {
    GatherColumns<1>(df, v, dv, c, ids, w, count, avail, /*prefetch=*/false, acc);
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
