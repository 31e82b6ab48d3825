// Threshold sample scores: Highway dispatch unit. See sample_scores.h.
#include "core/hsr/sample_scores.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "core/attention/params.h"
#include "core/base/error.h"
#include "core/base/thread_pool.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "core/hsr/sample_scores.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "core/attention/score-inl.h"
#include "core/attention/score_tile-inl.h"

HWY_BEFORE_NAMESPACE();
namespace hsr {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Query rows per pass over the sample blocks (their rows stay in L1/L2 across the blocks): a
// multiple of ScoreTile's register block kKeyRows, so only a call's last chunk has a remainder.
constexpr size_t kSampleRowChunk = 8 * kKeyRows;

#if HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
#define HSR_SAMPLE_FEW_ROWS 1
// Rows up to this many are scored by ScoreFewRows (a decode call has one per query head).
constexpr size_t kFewRows = 2;
// Keys per pass of ScoreFewRows: kFewGroups groups of 8, one accumulator chain each per row.
constexpr size_t kFewGroups = 4;

// The scores of kRows query rows (q rows of d floats, stride q_stride) against count sample keys
// without the lane-block copy. A group holds 8 keys in the lanes of a 256-bit vector (keys
// 0-3 in the lower 128 bits, 4-7 in the upper); per 4 dims each half is loaded from 4 rows and
// transposed 4 x 4 in its 128-bit block (8 in-block shuffles for 32 values: measured faster
// than an 8 x 8 transpose per 8 dims). Lane l of a group is the same FMA chain over
// c = 0..d-1 from 0 as ScoreTile's (MulAdd(q_c, k_c, acc), then one multiply by scale), so the
// scores equal the tile path's bit for bit (the file comment;
// SampleScores.BatchEqualsRowsAloneWithinDotBoundOnEveryTarget checks it). A pass past the
// last key repeats the last id in its unused lanes (their scores are dropped).
template <size_t kRows>
HWY_INLINE void ScoreFewRows(const float* HWY_RESTRICT q, size_t q_stride, ConstMatrixView k,
                             const uint32_t* HWY_RESTRICT ids, size_t count, float scale,
                             float* HWY_RESTRICT out) {
  const hn::Full256<float> d8;
  const hn::Full128<float> d4;
  const hn::Repartition<double, decltype(d8)> d64;
  using V = hn::Vec<decltype(d8)>;
  constexpr size_t kPass = 8 * kFewGroups;
  const size_t d = k.cols, d4_end = d - d % 4;
  for (size_t t0 = 0; t0 < count; t0 += kPass) {
    const float* kr[kPass];
    for (size_t l = 0; l < kPass; ++l) kr[l] = k.Row(ids[std::min(t0 + l, count - 1)]);
    // The next pass's rows (scattered: DRAM latency when cold).
    for (size_t l = t0 + kPass; l < std::min(t0 + 2 * kPass, count); ++l) {
      PrefetchRow(k.Row(ids[l]), d);
    }
    V acc[kRows][kFewGroups];
    for (size_t r = 0; r < kRows; ++r) {
      for (size_t g = 0; g < kFewGroups; ++g) acc[r][g] = hn::Zero(d8);
    }
    for (size_t c = 0; c < d4_end; c += 4) {
      V qc[kRows][4];
      for (size_t r = 0; r < kRows; ++r) {
        for (size_t i = 0; i < 4; ++i) qc[r][i] = hn::Set(d8, q[r * q_stride + c + i]);
      }
      for (size_t g = 0; g < kFewGroups; ++g) {
        const float* const* p = kr + 8 * g;
        V row[4];  // keys i | i + 4, dims c..c+3
        for (size_t i = 0; i < 4; ++i) {
          row[i] = hn::Combine(d8, hn::LoadU(d4, p[4 + i] + c), hn::LoadU(d4, p[i] + c));
        }
        const auto t0v = hn::BitCast(d64, hn::InterleaveLower(d8, row[0], row[1]));
        const auto t1v = hn::BitCast(d64, hn::InterleaveUpper(d8, row[0], row[1]));
        const auto t2v = hn::BitCast(d64, hn::InterleaveLower(d8, row[2], row[3]));
        const auto t3v = hn::BitCast(d64, hn::InterleaveUpper(d8, row[2], row[3]));
        const V col[4] = {hn::BitCast(d8, hn::InterleaveLower(d64, t0v, t2v)),   // dim c
                          hn::BitCast(d8, hn::InterleaveUpper(d64, t0v, t2v)),   // dim c + 1
                          hn::BitCast(d8, hn::InterleaveLower(d64, t1v, t3v)),   // dim c + 2
                          hn::BitCast(d8, hn::InterleaveUpper(d64, t1v, t3v))};  // dim c + 3
        for (size_t r = 0; r < kRows; ++r) {
          for (size_t i = 0; i < 4; ++i) acc[r][g] = hn::MulAdd(qc[r][i], col[i], acc[r][g]);
        }
      }
    }
    for (size_t c = d4_end; c < d; ++c) {
      for (size_t g = 0; g < kFewGroups; ++g) {
        HWY_ALIGN float kc[8];
        for (size_t i = 0; i < 8; ++i) kc[i] = kr[8 * g + i][c];
        const auto col = hn::Load(d8, kc);
        for (size_t r = 0; r < kRows; ++r) {
          acc[r][g] = hn::MulAdd(hn::Set(d8, q[r * q_stride + c]), col, acc[r][g]);
        }
      }
    }
    const size_t lanes = std::min(kPass, count - t0);
    for (size_t r = 0; r < kRows; ++r) {
      HWY_ALIGN float s[kPass];
      for (size_t g = 0; g < kFewGroups; ++g) hn::Store(acc[r][g], d8, s + 8 * g);
      float* o = out + r * count + t0;
      for (size_t l = 0; l < lanes; ++l) o[l] = s[l] * scale;
    }
  }
}
#endif

void ScoreSampleT(ConstMatrixView q, ConstMatrixView k, const uint32_t* ids, size_t count,
                  float scale, SampleScratch* sc, float* out) {
#ifdef HSR_SAMPLE_FEW_ROWS
  if (q.rows <= kFewRows) {
    for (size_t r = 0; r < q.rows;) {
      if (q.rows - r >= 2) {
        ScoreFewRows<2>(q.Row(r), q.stride, k, ids, count, scale, out + r * count);
        r += 2;
      } else {
        ScoreFewRows<1>(q.Row(r), q.stride, k, ids, count, scale, out + r * count);
        r += 1;
      }
    }
    return;
  }
#endif
  const hn::ScalableTag<float> df;
  const size_t W = TileRows(df), d = k.cols;
  const size_t blocks = (count + W - 1) / W;
  if (sc->kt_capacity < blocks * d * W) {
    sc->kt = hwy::AllocateAligned<float>(blocks * d * W);
    sc->kt_capacity = blocks * d * W;
  }
  if (sc->st_capacity < kSampleRowChunk * W) {
    sc->st = hwy::AllocateAligned<float>(kSampleRowChunk * W);
    sc->st_capacity = kSampleRowChunk * W;
  }
  float* kt = sc->kt.get();
  float* st = sc->st.get();
  // Sample keys in lane blocks: block b holds keys b*W .. b*W + W - 1 as d x W (padding lanes 0).
  // The sampled rows are scattered: each is prefetched kScatterAhead keys before its copy (the
  // copy was DRAM-latency bound in a single-query decode).
  for (size_t b = 0; b < blocks; ++b) {
    float* blk = kt + b * d * W;
    for (size_t l = 0; l < W; ++l) {
      const size_t t = b * W + l;
      if (t + kScatterAhead < count) PrefetchRow(k.Row(ids[t + kScatterAhead]), d);
      if (t < count) {
        const float* kr = k.Row(ids[t]);
        for (size_t c = 0; c < d; ++c) blk[c * W + l] = kr[c];
      } else {
        for (size_t c = 0; c < d; ++c) blk[c * W + l] = 0.0f;
      }
    }
  }
  for (size_t r0 = 0; r0 < q.rows; r0 += kSampleRowChunk) {
    const size_t rows = std::min(kSampleRowChunk, q.rows - r0);
    for (size_t b = 0; b < blocks; ++b) {
      // Lanes: sample keys; broadcast operand: the query rows (one FMA chain per lane).
      ScoreTile(df, kt + b * d * W, q.Row(r0), q.stride, d, rows, st);
      const size_t lanes = std::min(W, count - b * W);
      for (size_t r = 0; r < rows; ++r) {
        float* o = out + (r0 + r) * count + b * W;
        const float* s = st + r * W;
        for (size_t l = 0; l < lanes; ++l) o[l] = s[l] * scale;
      }
    }
  }
}

// ScorePackedSample: per row, kAcc vectors of accumulators over consecutive blocks (kAcc /
// per_block blocks per pass, per_block vectors per block row), so kAcc independent FMA chains
// hide the FMA latency. The blocks are padded to whole passes (PackedSample), so every pass is.
// Lane t of a block is slot t's chain MulAdd(q_c, k_c, acc) over c = 0..d-1 from 0, then one
// multiply by scale: the bits of ScoreSample's lanes (file comment). Padding lanes are 0.
void ScorePackedT(ConstMatrixView q, const float* HWY_RESTRICT blocks, size_t count, size_t d,
                  float scale, float* HWY_RESTRICT out) {
  const hn::CappedTag<float, kPackLanes> df;
  using V = hn::Vec<decltype(df)>;
  const size_t N = hn::Lanes(df);
  const size_t per_block = kPackLanes / N;  // vectors per block row
  constexpr size_t kAcc = 8;
  const size_t blocks_per_pass = kAcc / per_block;  // in [1, kPackPassBlocks]: N <= kPackLanes
  const size_t nblocks = (count + kPackLanes - 1) / kPackLanes;
  const size_t stride = d * kPackLanes;  // floats per block
  HWY_ALIGN float s[kAcc * kPackLanes];
  for (size_t r = 0; r < q.rows; ++r) {
    const float* HWY_RESTRICT qr = q.Row(r);
    float* o = out + r * count;
    for (size_t b0 = 0; b0 < nblocks; b0 += blocks_per_pass) {
      const float* base = blocks + b0 * stride;
      V acc[kAcc];
      for (size_t a = 0; a < kAcc; ++a) acc[a] = hn::Zero(df);
      for (size_t c = 0; c < d; ++c) {
        const V qc = hn::Set(df, qr[c]);
        for (size_t a = 0; a < kAcc; ++a) {
          const float* p =
              base + (a / per_block) * stride + c * kPackLanes + (a % per_block) * N;
          acc[a] = hn::MulAdd(qc, hn::Load(df, p), acc[a]);
        }
      }
      for (size_t a = 0; a < kAcc; ++a) hn::Store(acc[a], df, s + a * N);
      const size_t t0 = b0 * kPackLanes;
      const size_t lanes = std::min(blocks_per_pass * kPackLanes, count - t0);
      for (size_t l = 0; l < lanes; ++l) o[t0 + l] = s[l] * scale;
    }
  }
}

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace hsr
HWY_AFTER_NAMESPACE();
#undef HSR_SAMPLE_FEW_ROWS

#if HWY_ONCE
namespace hsr {

HWY_EXPORT(ScoreSampleT);
HWY_EXPORT(ScorePackedT);

void ScoreSample(ConstMatrixView q, ConstMatrixView k, std::span<const uint32_t> ids, float scale,
                 SampleScratch* scratch, float* out) {
  HSR_CHECK(q.cols == k.cols, "sample scores: expected queries with d={} (as K), got {}", k.cols,
            q.cols);
  if (q.rows == 0 || ids.empty()) return;
  HWY_DYNAMIC_DISPATCH(ScoreSampleT)(q, k, ids.data(), ids.size(), scale, scratch, out);
}

namespace {

// Copies key row `id` of k into slot `slot` of packed's blocks.
void PackRow(ConstMatrixView k, uint32_t id, size_t slot, PackedSample* packed) {
  float* blk = packed->blocks.get() + (slot / kPackLanes) * packed->d * kPackLanes +
               slot % kPackLanes;
  const float* kr = k.Row(id);
  for (size_t c = 0; c < packed->d; ++c) blk[c * kPackLanes] = kr[c];
}

// The ids of `range`'s sample in sc (advanced when sc holds a smaller range's, drawn anew
// otherwise; copied from packed when it holds them).
void SampleIdsInto(const ThresholdPolicy& policy, size_t range, size_t d,
                   const PackedSample* packed, SampleScratch* sc) {
  const bool same = sc->ids_valid && sc->ids_seed == policy.seed &&
                    sc->ids_sample == policy.sample;
  if (same && sc->ids_range == range) return;
  if (packed && packed->Holds(policy, range, d)) {
    sc->ids = packed->ids;
  } else if (same && sc->ids_range < range) {
    AdvanceSampleIds(policy, sc->ids_range, range, &sc->ids, nullptr);
  } else {
    sc->ids = ThresholdSampleIds(policy, range);
  }
  sc->ids_valid = true;
  sc->ids_seed = policy.seed;
  sc->ids_sample = policy.sample;
  sc->ids_range = range;
}

}  // namespace

void UpdatePackedSample(const ThresholdPolicy& policy, ConstMatrixView k, size_t range,
                        PackedSample* packed) {
  HSR_CHECK(range <= k.rows, "threshold sample: expected a range within n={}, got {}", k.rows,
            range);
  const size_t d = k.cols;
  const bool advance = packed->Same(policy, d) && packed->range <= range;
  if (advance && packed->range == range) return;
  // Floats of `slots` slots' blocks, padded to whole scoring passes (PackedSample).
  const auto floats_for = [&](size_t slots) {
    constexpr size_t kPassKeys = kPackLanes * kPackPassBlocks;
    return (slots + kPassKeys - 1) / kPassKeys * kPassKeys * d;
  };
  const size_t need = floats_for(std::min(policy.sample, range));
  if (packed->capacity < need) {
    // Grown by doubling up to the full sample (a range below the sample size grows one slot
    // per appended key); new lanes are 0 (padding).
    const size_t full = floats_for(policy.sample);
    const size_t floats = std::max(need, std::min(full, 2 * packed->capacity));
    hwy::AlignedFreeUniquePtr<float[]> blocks = hwy::AllocateAligned<float>(floats);
    std::fill(blocks.get(), blocks.get() + floats, 0.0f);
    if (advance) {
      std::copy(packed->blocks.get(), packed->blocks.get() + packed->capacity, blocks.get());
    }
    packed->blocks = std::move(blocks);
    packed->capacity = floats;
  } else if (!advance) {
    std::fill(packed->blocks.get(), packed->blocks.get() + packed->capacity, 0.0f);
  }
  packed->d = d;
  if (advance) {
    packed->replaced.clear();
    AdvanceSampleIds(policy, packed->range, range, &packed->ids, &packed->replaced);
    for (const uint32_t slot : packed->replaced) PackRow(k, packed->ids[slot], slot, packed);
  } else {
    packed->ids = ThresholdSampleIds(policy, range);
    for (size_t t = 0; t < packed->ids.size(); ++t) PackRow(k, packed->ids[t], t, packed);
  }
  packed->valid = true;
  packed->seed = policy.seed;
  packed->sample = policy.sample;
  packed->range = range;
}

void ScorePackedSample(ConstMatrixView q, const PackedSample& packed, float scale, float* out) {
  HSR_CHECK(packed.valid && q.cols == packed.d,
            "sample scores: expected queries with d={} (as the packed sample), got {}", packed.d,
            q.cols);
  if (q.rows == 0 || packed.ids.empty()) return;
  HWY_DYNAMIC_DISPATCH(ScorePackedT)(q, packed.blocks.get(), packed.ids.size(), packed.d, scale,
                                     out);
}

void EstimateThresholdRows(const ThresholdPolicy& policy, ConstMatrixView q, ConstMatrixView k,
                           float scale, bool causal, size_t i0, size_t i1, SampleScratch* sc,
                           ThresholdEstimate* est, uint64_t* bytes,
                           std::vector<float>* sample_scores, const PackedSample* packed) {
  const size_t m = q.rows, n = k.rows, d = k.cols;
  HSR_CHECK(i0 <= i1 && i1 <= m, "thresholds: expected rows [{}, {}) within m={}", i0, i1, m);
  // Rows that need no sample scores: a fixed policy, or no visible key.
  auto sampled = [&](size_t i) {
    return policy.NeedsSample() && VisibleKeys(causal, i, m, n) > 0;
  };
  size_t i = i0;
  while (i < i1) {
    const size_t visible = VisibleKeys(causal, i, m, n);
    if (!sampled(i)) {
      est[i - i0] = EstimateThreshold(policy, {}, visible);
      if (sample_scores) sample_scores->clear();
      ++i;
      continue;
    }
    // Group [i, e): rows with one sample range, or rows whose sample is their whole range
    // (ids [0, range), prefixes of [0, largest range)).
    const size_t range = SampleRange(policy, causal, i, m, n);
    const bool whole = range <= policy.sample;
    size_t e = i + 1, ids_range = range;
    while (e < i1 && sampled(e)) {
      const size_t r = SampleRange(policy, causal, e, m, n);
      if (whole ? r > policy.sample : r != range) break;
      ids_range = std::max(ids_range, r);
      ++e;
    }
    const bool from_packed = packed && packed->Holds(policy, ids_range, d) &&
                             e - i <= kPackedRowsMax;
    if (!from_packed) SampleIdsInto(policy, ids_range, d, packed, sc);
    const size_t count = from_packed ? packed->ids.size() : sc->ids.size();
    sc->scores.resize((e - i) * count);
    if (from_packed) {
      ScorePackedSample(q.RowRange(i, e - i), *packed, scale, sc->scores.data());
    } else {
      ScoreSample(q.RowRange(i, e - i), k, sc->ids, scale, sc, sc->scores.data());
    }
    if (bytes) bytes[i - i0] += count * d * sizeof(float);
    for (size_t r = i; r < e; ++r) {
      const size_t used = whole ? SampleRange(policy, causal, r, m, n) : count;
      const std::span<const float> s(sc->scores.data() + (r - i) * count, used);
      est[r - i0] = EstimateThreshold(policy, s, VisibleKeys(causal, r, m, n));
      if (sample_scores && r == i0) sample_scores->assign(s.begin(), s.end());
    }
    i = e;
  }
}

namespace {

// EstimateThresholdHeads' task `task` (query head task / blocks, rows of its block `task % blocks`
// of kSampleRows): EstimateThresholdRows into est / bytes at h * m + i.
void EstimateBlock(const ThresholdPolicy& policy, ConstHeadsView q,
                   std::span<const ConstMatrixView> keys, float scale, bool causal, size_t task,
                   SampleScratch* scratch, ThresholdEstimate* est, uint64_t* bytes,
                   std::span<const PackedSample> packed) {
  const size_t m = q.rows, group = q.heads / keys.size();
  const size_t blocks = (m + kSampleRows - 1) / kSampleRows;
  const size_t h = task / blocks, i0 = (task % blocks) * kSampleRows;
  const size_t i1 = std::min(m, i0 + kSampleRows);
  EstimateThresholdRows(policy, q.Head(h), keys[h / group], scale, causal, i0, i1, scratch,
                        est + h * m + i0, bytes ? bytes + h * m + i0 : nullptr, nullptr,
                        packed.empty() ? nullptr : &packed[h / group]);
}

void CheckHeadsShape(ConstHeadsView q, std::span<const ConstMatrixView> keys,
                     std::span<const PackedSample> packed) {
  HSR_CHECK(!keys.empty() && q.heads % keys.size() == 0,
            "thresholds: expected query heads a multiple of {} kv heads, got {}", keys.size(),
            q.heads);
  HSR_CHECK(packed.empty() || packed.size() == keys.size(),
            "thresholds: expected no packed samples or one per kv head ({}), got {}",
            keys.size(), packed.size());
}

}  // namespace

std::vector<ThresholdEstimate> EstimateThresholdHeads(const ThresholdPolicy& policy,
                                                      ConstHeadsView q,
                                                      std::span<const ConstMatrixView> keys,
                                                      float scale, bool causal, ThreadPool* pool,
                                                      std::vector<uint64_t>* bytes,
                                                      std::vector<SampleScratch>* scratch,
                                                      std::span<const PackedSample> packed) {
  CheckHeadsShape(q, keys, packed);
  const size_t m = q.rows;
  const size_t blocks = (m + kSampleRows - 1) / kSampleRows;
  std::vector<ThresholdEstimate> est(q.heads * m);
  if (bytes) bytes->assign(q.heads * m, 0);
  std::vector<SampleScratch> own;
  if (!scratch) scratch = &own;
  scratch->resize(pool ? pool->NumThreads() : 1);
  auto run_block = [&](size_t task, size_t thread) {
    EstimateBlock(policy, q, keys, scale, causal, task, &(*scratch)[thread], est.data(),
                  bytes ? bytes->data() : nullptr, packed);
  };
  if (pool) {
    pool->Run(q.heads * blocks, run_block);
  } else {
    for (size_t task = 0; task < q.heads * blocks; ++task) run_block(task, 0);
  }
  return est;
}

void EstimateThresholdHeadRange(const ThresholdPolicy& policy, ConstHeadsView q,
                                std::span<const ConstMatrixView> keys, float scale, bool causal,
                                size_t h0, size_t h1, SampleScratch* scratch,
                                ThresholdEstimate* est, uint64_t* bytes,
                                std::span<const PackedSample> packed) {
  CheckHeadsShape(q, keys, packed);
  HSR_CHECK(h0 <= h1 && h1 <= q.heads, "thresholds: expected query heads [{}, {}) within {}", h0,
            h1, q.heads);
  const size_t blocks = (q.rows + kSampleRows - 1) / kSampleRows;
  for (size_t task = h0 * blocks; task < h1 * blocks; ++task) {
    EstimateBlock(policy, q, keys, scale, causal, task, scratch, est, bytes, packed);
  }
}

}  // namespace hsr
#endif  // HWY_ONCE
