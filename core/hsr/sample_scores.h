// Threshold sample scores (threshold.h): the scaled scores of query rows against a threshold
// sample, and the per-row estimates built on them. The one implementation behind every path
// that computes thresholds (DecodeEngine::Attend, the prefill engine, ResolveThresholds: all
// through EstimateThresholdHeads), so they agree bit for bit.
//
// Score of query q and sample key k: fl(scale * t), t the plain float FMA chain over
// c = 0..d-1 from 0 (the shared tile kernel ScoreTile, core/attention/score_tile-inl.h, run with
// the sample keys in lanes and the query rows as its broadcast operand; calls of 1-2 rows on
// AVX2 / AVX3 run the same chains on sample rows transposed in registers). Every lane is its own
// chain, so a score depends only on its query row and key: rows scored alone or in any batch,
// with or without padding lanes, get the same bits. Rows that share a sample (SampleRange, and
// rows whose sample is all their visible keys, [0, visible): prefixes of one id list) are scored
// together; the sample keys are read once per group. A decode engine keeps each kv head's sample
// rows packed in lane blocks (PackedSample, advanced as keys are appended) and scores its rows
// from them: the same chains on rows read in order, so the same bits.
// Test: verify/tests/hsr_props.cc (SampleScores.*, HsrRelu.CausalPrefillVsOracle).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/hsr/threshold.h"
#include "core/tensor/view.h"
#include "hwy/aligned_allocator.h"

namespace hsr {

class ThreadPool;

// Keys per block of a PackedSample, and the most blocks one scoring pass reads (8 vectors of
// accumulators over 1-8 lanes: 1 block per pass on a scalar target, 8 on 8-lane targets).
inline constexpr size_t kPackLanes = 8;
inline constexpr size_t kPackPassBlocks = 8;

// A kv head's threshold sample kept across calls (DecodeEngine's): ids =
// ThresholdSampleIds(policy, range) for seed and sample, and their key rows in blocks of
// kPackLanes keys, each d x kPackLanes floats: slot t's dim c at
// blocks[(t / kPackLanes) * d * kPackLanes + c * kPackLanes + t % kPackLanes], the last block's
// padding lanes 0, then zero blocks up to a multiple of kPackPassBlocks (every scoring pass is
// whole). Scoring it reads 4 d bytes per sample key in order instead of scattered rows (the rows
// of a reservoir sample stay put as keys are appended: UpdatePackedSample copies only the
// replaced slots' rows).
struct PackedSample {
  bool valid = false;
  uint64_t seed = 0;
  size_t sample = 0, range = 0, d = 0;
  std::vector<uint32_t> ids;
  hwy::AlignedFreeUniquePtr<float[]> blocks;
  size_t capacity = 0;             // floats allocated in blocks
  std::vector<uint32_t> replaced;  // AdvanceSampleIds's slots (reused)

  // Whether it holds a sample of this policy over keys of key_d dims (of some range).
  bool Same(const ThresholdPolicy& policy, size_t key_d) const {
    return valid && seed == policy.seed && sample == policy.sample && d == key_d;
  }
  // Whether it holds the sample a row with this policy and sample range draws.
  bool Holds(const ThresholdPolicy& policy, size_t sample_range, size_t key_d) const {
    return Same(policy, key_d) && range == sample_range;
  }
};

// Brings packed to the sample of [0, range) of keys k (n x d, any stride, range <= n): advanced
// from its range when it holds the same policy's sample of a range <= this one (only the
// replaced slots' rows are copied; k's rows below its range must be those it copied, as when
// keys are only appended), else built anew.
void UpdatePackedSample(const ThresholdPolicy& policy, ConstMatrixView k, size_t range,
                        PackedSample* packed);

// Query rows up to this many are scored from a PackedSample that holds their sample; more rows
// share one lane-block copy of the sampled rows (ScoreSample's tile path, fewer loads per FMA).
inline constexpr size_t kPackedRowsMax = 4;

// out[r * packed.ids.size() + t] = score of q row r against sample slot t: the same bits as
// ScoreSample over packed.ids (definition above). q.cols == packed.d.
void ScorePackedSample(ConstMatrixView q, const PackedSample& packed, float scale, float* out);

// Per-thread scratch for ScoreSample / EstimateThresholdRows (buffers reused across calls).
struct SampleScratch {
  hwy::AlignedFreeUniquePtr<float[]> kt;  // sample keys in lane blocks (d x W per block)
  size_t kt_capacity = 0;
  hwy::AlignedFreeUniquePtr<float[]> st;  // tile output (rows x W)
  size_t st_capacity = 0;
  // ThresholdSampleIds(policy, ids_range) for ids_seed and ids_sample when ids_valid: kept while
  // calls draw from the same key range (every decode row of an engine with n keys), advanced
  // when a call's range is larger (AdvanceSampleIds), drawn anew when it is smaller.
  std::vector<uint32_t> ids;
  bool ids_valid = false;
  uint64_t ids_seed = 0;
  size_t ids_sample = 0, ids_range = 0;
  std::vector<float> scores;
};

// out[r * ids.size() + t] = score of q row r against key k[ids[t]] (definition above), for the
// q.rows rows of q (m x d, any stride) and keys k (n x d, any stride, ids < n).
void ScoreSample(ConstMatrixView q, ConstMatrixView k, std::span<const uint32_t> ids, float scale,
                 SampleScratch* scratch, float* out);

// Threshold estimates of rows [i0, i1) of one query head: q (m x d, that head's rows), k (n x d,
// its kv head's keys), row i sees VisibleKeys(causal, i, m, n) keys and draws its sample from
// [0, SampleRange(policy, causal, i, m, n)). est[i - i0] = EstimateThreshold of the row's sample
// scores (rows that see no key: EstimateThreshold of an empty sample). bytes (may be null):
// sample key bytes read, added to the first row of each group that shares a read.
// sample_scores (may be null): the scores of row i0 (only meaningful when i1 = i0 + 1).
// packed (may be null): k's PackedSample; groups whose sample it holds are scored from it (up to
// kPackedRowsMax rows) or take their ids from it. The estimates do not depend on it.
void EstimateThresholdRows(const ThresholdPolicy& policy, ConstMatrixView q, ConstMatrixView k,
                           float scale, bool causal, size_t i0, size_t i1, SampleScratch* scratch,
                           ThresholdEstimate* est, uint64_t* bytes,
                           std::vector<float>* sample_scores = nullptr,
                           const PackedSample* packed = nullptr);

// The threshold estimates of every row of q [Hq, m, d]: result[h * m + i] is row i of query
// head h, whose keys are keys[h / (Hq / keys.size())] (n x d each, any stride), as
// EstimateThresholdRows gives it. Tasks of kSampleRows rows of one head (the rows that may share
// a sample) spread over pool (may be null: in turn); the result does not depend on the thread
// count. bytes (may be null): resized to Hq * m, the sample key bytes read (EstimateThresholdRows).
// scratch (may be null: the call's own): one SampleScratch per pool thread, kept by a caller
// that estimates again (its buffers and sample ids are reused). packed: empty, or one
// PackedSample per kv head (EstimateThresholdRows).
std::vector<ThresholdEstimate> EstimateThresholdHeads(const ThresholdPolicy& policy,
                                                      ConstHeadsView q,
                                                      std::span<const ConstMatrixView> keys,
                                                      float scale, bool causal, ThreadPool* pool,
                                                      std::vector<uint64_t>* bytes,
                                                      std::vector<SampleScratch>* scratch = nullptr,
                                                      std::span<const PackedSample> packed = {});
// EstimateThresholdHeads' tasks for query heads [h0, h1) only, in turn on the calling thread:
// their rows' estimates (and bytes, may be null) at est[h * m + i] / bytes[h * m + i], the same
// bits as EstimateThresholdHeads gives them (a decode engine estimates each kv head's rows inside
// that head's screen task, decode_engine.cc).
void EstimateThresholdHeadRange(const ThresholdPolicy& policy, ConstHeadsView q,
                                std::span<const ConstMatrixView> keys, float scale, bool causal,
                                size_t h0, size_t h1, SampleScratch* scratch,
                                ThresholdEstimate* est, uint64_t* bytes,
                                std::span<const PackedSample> packed = {});

}  // namespace hsr
