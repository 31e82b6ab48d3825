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

// scores[i] = ScoreRun(q, K[ids[i]]) (K rows of d floats, stride d), i in [0, count).
HWY_INLINE void ScoreIdsImpl(const float* HWY_RESTRICT q, const float* HWY_RESTRICT k, size_t d,
                             const uint32_t* HWY_RESTRICT ids, size_t count, float scale,
                             float* HWY_RESTRICT scores) {
  for (size_t i = 0; i < count; ++i) {
    ScoreRun(q, k + static_cast<size_t>(ids[i]) * d, d, d, 1, scale, scores + i);
  }
}

// acc[c] += sum_i w[i] * V[ids[i]][c] for c in [0, dv); V rows of dv floats, stride dv.
// Columns in blocks of four vectors held in registers while all rows stream past.
HWY_INLINE void GatherAccumulateImpl(const float* HWY_RESTRICT v, size_t dv,
                                     const uint32_t* HWY_RESTRICT ids,
                                     const float* HWY_RESTRICT w, size_t count,
                                     float* HWY_RESTRICT acc) {
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df);
  size_t c = 0;
  for (; c + 4 * N <= dv; c += 4 * N) {
    auto a0 = hn::LoadU(df, acc + c), a1 = hn::LoadU(df, acc + c + N);
    auto a2 = hn::LoadU(df, acc + c + 2 * N), a3 = hn::LoadU(df, acc + c + 3 * N);
    for (size_t i = 0; i < count; ++i) {
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

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace hsr
HWY_AFTER_NAMESPACE();

#endif  // HSR_CORE_HSR_GATHER_INL_H_
