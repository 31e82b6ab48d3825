// Per-target helpers shared by the index dispatch units (scan.cc, sketch8.cc, lowrank.cc,
// balltree.cc): score runs of keys with the one shared kernel (core/attention/score-inl.h)
// and keep those with s > b. Include inside a Highway dispatch unit after hwy/highway.h.

#if defined(HSR_CORE_INDEX_RECHECK_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef HSR_CORE_INDEX_RECHECK_INL_H_
#undef HSR_CORE_INDEX_RECHECK_INL_H_
#else
#define HSR_CORE_INDEX_RECHECK_INL_H_
#endif

#include <stddef.h>
#include <stdint.h>

#include <vector>

#include "core/attention/score-inl.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace hsr {
namespace HWY_NAMESPACE {

// Appends id_base + j for every row j in [0, count) of keys (stride d) with
// ScoreRun(q, row j) > b (and the score to scores when it is not null). Returns the number
// appended.
HWY_INLINE size_t ReportRun(const float* HWY_RESTRICT q, const float* HWY_RESTRICT keys,
                            size_t d, size_t count, float scale, float b, uint32_t id_base,
                            std::vector<uint32_t>* out, std::vector<float>* out_scores = nullptr) {
  constexpr size_t kChunk = 128;
  HWY_ALIGN float scores[kChunk];
  size_t found = 0;
  for (size_t j0 = 0; j0 < count; j0 += kChunk) {
    const size_t c = count - j0 < kChunk ? count - j0 : kChunk;
    ScoreRun(q, keys + j0 * d, d, d, c, scale, scores);
    for (size_t j = 0; j < c; ++j) {
      if (scores[j] > b) {
        out->push_back(id_base + static_cast<uint32_t>(j0 + j));
        if (out_scores) out_scores->push_back(scores[j]);
        ++found;
      }
    }
  }
  return found;
}

// Rechecks candidate ids (rows of keys, stride d) with ScoreRun; appends those with s > b to
// out, and their scores to scores when it is not null.
HWY_INLINE size_t RecheckIds(const float* HWY_RESTRICT q, const float* HWY_RESTRICT keys,
                             size_t d, float scale, float b, const uint32_t* cand,
                             size_t count, std::vector<uint32_t>* out,
                             std::vector<float>* scores = nullptr) {
  size_t found = 0;
  ScoreIds(q, keys, d, cand, count, scale, [&](size_t i, float s) {
    if (s > b) {
      out->push_back(cand[i]);
      if (scores) scores->push_back(s);
      ++found;
    }
  });
  return found;
}

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace hsr
HWY_AFTER_NAMESPACE();

#endif  // HSR_CORE_INDEX_RECHECK_INL_H_
