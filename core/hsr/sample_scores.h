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
// together; the sample keys are read once per group.
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
void EstimateThresholdRows(const ThresholdPolicy& policy, ConstMatrixView q, ConstMatrixView k,
                           float scale, bool causal, size_t i0, size_t i1, SampleScratch* scratch,
                           ThresholdEstimate* est, uint64_t* bytes,
                           std::vector<float>* sample_scores = nullptr);

// The threshold estimates of every row of q [Hq, m, d]: result[h * m + i] is row i of query
// head h, whose keys are keys[h / (Hq / keys.size())] (n x d each, any stride), as
// EstimateThresholdRows gives it. Tasks of kSampleRows rows of one head (the rows that may share
// a sample) spread over pool (may be null: in turn); the result does not depend on the thread
// count. bytes (may be null): resized to Hq * m, the sample key bytes read (EstimateThresholdRows).
// scratch (may be null: the call's own): one SampleScratch per pool thread, kept by a caller
// that estimates again (its buffers and sample ids are reused).
std::vector<ThresholdEstimate> EstimateThresholdHeads(const ThresholdPolicy& policy,
                                                      ConstHeadsView q,
                                                      std::span<const ConstMatrixView> keys,
                                                      float scale, bool causal, ThreadPool* pool,
                                                      std::vector<uint64_t>* bytes,
                                                      std::vector<SampleScratch>* scratch = nullptr);

}  // namespace hsr
