#include "core/hsr/prefill_engine.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/attention/validate.h"
#include "core/base/clock.h"
#include "core/base/thread_pool.h"
#include "core/hsr/sample_scores.h"
#include "core/index/sketch8.h"

namespace hsr {
namespace {

// The batched report path: every row's threshold (seeded sample, rows in parallel), then
// per query head the sketch8 codes' batched prefix report (Sketch8Index::ReportPrefixBatch) over
// the causal key prefixes, handed to Attend as its first report (softmax rows with the screen's
// per-key-bound tails, for eps_sketch). Returns the time of the code build, the batch path's key
// preprocessing.
double Precompute(ConstHeadsView q, const AttentionParams& p, const DecodeEngine& engine,
                  ThreadPool* pool, PrecomputedReports* pre) {
  const size_t m = q.rows, n = engine.n(), d = engine.d();
  const size_t rows = q.heads * m, group = q.heads / engine.kv_heads();
  const float scale = engine.scale();
  pre->b.assign(rows, p.b);
  pre->candidates.assign(rows, 0);
  if (!p.b_per_query.empty()) {
    std::copy(p.b_per_query.begin(), p.b_per_query.end(), pre->b.begin());
  }
  // Policy as Attend picks it; rows sharing a sample (SampleRange) are scored together.
  const std::optional<ThresholdPolicy> policy = CallPolicy(engine.options(), p);
  if (policy) {
    std::vector<ConstMatrixView> kv_keys;
    for (size_t g = 0; g < engine.kv_heads(); ++g) kv_keys.push_back(engine.keys(g));
    pre->est = EstimateThresholdHeads(*policy, q, kv_keys, scale, p.causal, pool, &pre->bytes);
    for (size_t task = 0; task < rows; ++task) {
      if (VisibleKeys(p.causal, task % m, m, n) > 0) pre->b[task] = pre->est[task].b;
    }
  } else {
    pre->est.assign(rows, ThresholdEstimate{});
    pre->bytes.assign(rows, 0);
  }
  // Reports per query head (rows of a head in parallel inside BatchReport).
  std::vector<uint32_t> limits(m);
  for (size_t i = 0; i < m; ++i) limits[i] = static_cast<uint32_t>(VisibleKeys(p.causal, i, m, n));
  // One sketch8 code set per kv head (its build is the batch path's key preprocessing).
  const double build_t0 = NowUs();
  std::vector<Sketch8Index> sketches(engine.kv_heads());
  pool->Run(engine.kv_heads(), [&](size_t g, size_t) { sketches[g].Build(engine.keys(g), scale); });
  const double build_us = NowUs() - build_t0;
  pre->ids.offsets.assign(rows + 1, 0);
  pre->ids.ids.clear();
  pre->scores.clear();
  ReportBatch head;
  std::vector<uint64_t> cand;
  std::vector<float> head_scores;
  std::vector<double> head_tails;
  const bool softmax = p.kind == AttentionKind::kSoftmax;
  pre->tail.assign(softmax ? rows : 0, -1.0);
  for (size_t h = 0; h < q.heads; ++h) {
    const Sketch8Index& sketch = sketches[h / group];
    sketch.ReportPrefixBatch(q.Head(h), std::span<const float>(pre->b).subspan(h * m, m), limits,
                             pool, &head, &cand, &head_scores, softmax ? &head_tails : nullptr);
    if (softmax) std::copy(head_tails.begin(), head_tails.end(), pre->tail.begin() + h * m);
    // Head h's rows follow the earlier heads' in one CSR (the first head's arrays are taken over).
    const uint64_t base = pre->ids.ids.size();
    if (h == 0) {
      std::swap(pre->ids.ids, head.ids);
      std::swap(pre->scores, head_scores);
    } else {
      pre->ids.ids.insert(pre->ids.ids.end(), head.ids.begin(), head.ids.end());
      pre->scores.insert(pre->scores.end(), head_scores.begin(), head_scores.end());
    }
    for (size_t i = 0; i < m; ++i) {
      const size_t task = h * m + i;
      pre->ids.offsets[task + 1] = base + head.offsets[i + 1];
      pre->candidates[task] = cand[i];
      // The codes and bounds stream once per kBatchRows rows; candidates are rechecked from cache.
      pre->bytes[task] += limits[i] * sketch.BoundBytesPerKey() / Sketch8Index::kBatchRows +
                          cand[i] * d * sizeof(float);
    }
  }
  return build_us;
}

}  // namespace

void HsrPrefill(ConstHeadsView q, const KvCache& kv, const AttentionParams& p,
                const HsrOptions& options, HeadsView out, HsrCallStats* st) {
  ValidateAttention("hsr prefill", q, kv, p, out);
  HsrOptions o = options;
  o.index_threads = 1;  // rows in parallel over the engine's pool
  o.batch_rows = false;  // the index path is one index query per row (PrefillReport::kIndex)
  // err= rows choose their keys by per-key sketch bounds (softmax_cert.h), not by one report;
  // relu + err= is rejected by Attend.
  const bool err_policy =
      options.threshold && options.threshold->kind == ThresholdPolicy::Kind::kErr;
  const bool batch = options.prefill_report == PrefillReport::kBatch ||
                     (options.prefill_report == PrefillReport::kAuto &&
                      p.kind == AttentionKind::kRelu);
  const bool use_batch = batch && !err_policy && kv.n() > 0;
  // The batch path never queries the index: the engine builds none (build_us counts only what
  // is built: the indexes on the other paths, the sketch8 key codes here).
  DecodeEngine engine(kv, p.ScaleFor(kv.d()), o, /*copy=*/false, /*build_index=*/!use_batch);
  if (!use_batch) {
    engine.Attend(q, p, p.causal, out, st);
    return;
  }
  if (options.threshold) CheckThresholdFor(*options.threshold, kv.n());
  ThreadPool pool(options.threads);
  PrecomputedReports pre;
  const double key_us = Precompute(q, p, engine, &pool, &pre);
  engine.Attend(q, p, p.causal, out, st, &pre);
  if (st) st->build_us += key_us;
}

}  // namespace hsr
