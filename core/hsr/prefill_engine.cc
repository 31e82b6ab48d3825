#include "core/hsr/prefill_engine.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "core/attention/validate.h"
#include "core/base/thread_pool.h"
#include "core/hsr/sparse_kernels.h"
#include "core/index/batch_report.h"
#include "core/index/key_store.h"

namespace hsr {
namespace {

// The batched report path: every row's threshold (seeded sample, rows in parallel), then
// BatchReport per query head over the causal key prefixes, handed to Attend as its first report.
void Precompute(ConstHeadsView q, const AttentionParams& p, const HsrOptions& options,
                const DecodeEngine& engine, ThreadPool* pool, PrecomputedReports* pre) {
  const bool relu = p.kind == AttentionKind::kRelu;
  const size_t m = q.rows, n = engine.n(), d = engine.d();
  const size_t rows = q.heads * m, group = q.heads / engine.kv_heads();
  const float scale = engine.scale();
  pre->b.assign(rows, p.b);
  pre->est.assign(rows, ThresholdEstimate{});
  pre->candidates.assign(rows, 0);
  pre->bytes.assign(rows, 0);
  // Policy as Attend picks it: per-query b, else the engine's policy (softmax: `paper`), else p.b.
  std::optional<ThresholdPolicy> policy;
  if (!p.b_per_query.empty()) {
    std::copy(p.b_per_query.begin(), p.b_per_query.end(), pre->b.begin());
    pre->threshold = "per-query b";
  } else if (options.threshold) {
    policy = options.threshold;
  } else if (!relu) {
    policy = ThresholdPolicy{};
  } else {
    pre->threshold = fmt::format("b={}", p.b);
  }
  if (policy) {
    pre->threshold = policy->ToString();
    const SparseKernels kern = GetSparseKernels();
    const size_t blocks = (m + kSampleRows - 1) / kSampleRows;
    // One task per (head, block of kSampleRows rows): rows sharing a sample (SampleRange) score
    // it from one contiguous copy of the sampled keys; the others score their own sample.
    pool->Run(q.heads * blocks, [&](size_t task, size_t /*thread*/) {
      const size_t h = task / blocks, i0 = (task % blocks) * kSampleRows;
      const size_t i1 = std::min(m, i0 + kSampleRows);
      const float* k = engine.keys(h / group).data;
      std::vector<uint32_t> shared_ids;
      std::vector<float> shared_keys, scores;
      size_t shared_range = 0;
      for (size_t i = i0; i < i1; ++i) {
        const size_t row = h * m + i;
        const size_t visible = VisibleKeys(p.causal, i, m, n);
        if (visible == 0) continue;
        const float* qr = q.Head(h).Row(i);
        if (policy->NeedsSample()) {
          const size_t range = SampleRange(*policy, p.causal, i, m, n);
          if (range != shared_range || shared_ids.empty()) {
            shared_range = range;
            shared_ids = ThresholdSampleIds(*policy, range);
            shared_keys.resize(shared_ids.size() * d);
            for (size_t t = 0; t < shared_ids.size(); ++t) {
              std::copy_n(k + static_cast<size_t>(shared_ids[t]) * d, d, shared_keys.data() + t * d);
            }
            pre->bytes[row] += shared_ids.size() * d * sizeof(float);
          }
          scores.resize(shared_ids.size());
          kern.score_run(qr, shared_keys.data(), d, shared_ids.size(), scale, scores.data());
        }
        pre->est[row] = EstimateThreshold(*policy, scores, visible);
        pre->b[row] = pre->est[row].b;
      }
    });
  }
  // Reports per query head (rows of a head in parallel inside BatchReport).
  std::vector<uint32_t> limits(m);
  for (size_t i = 0; i < m; ++i) limits[i] = static_cast<uint32_t>(VisibleKeys(p.causal, i, m, n));
  std::vector<double> norm_max(engine.kv_heads(), 0.0);
  for (size_t g = 0; g < engine.kv_heads(); ++g) {
    const ConstMatrixView k = engine.keys(g);
    for (size_t j = 0; j < n; ++j) norm_max[g] = std::max(norm_max[g], index_detail::NormUp(k.Row(j), d));
  }
  pre->ids.offsets.assign(rows + 1, 0);
  pre->ids.ids.clear();
  pre->scores.clear();
  ReportBatch head;
  std::vector<uint64_t> cand;
  std::vector<float> head_scores;
  for (size_t h = 0; h < q.heads; ++h) {
    BatchReportInput in;
    in.keys = engine.keys(h / group);
    in.key_norm_max = norm_max[h / group];
    in.scale = scale;
    in.q = q.Head(h);
    in.b = std::span<const float>(pre->b).subspan(h * m, m);
    in.limits = limits;
    BatchReport(in, pool, &head, &cand, &head_scores);
    pre->scores.insert(pre->scores.end(), head_scores.begin(), head_scores.end());
    for (size_t i = 0; i < m; ++i) {
      const size_t task = h * m + i;
      const auto ids = head.Ids(i);
      pre->ids.ids.insert(pre->ids.ids.end(), ids.begin(), ids.end());
      pre->ids.offsets[task + 1] = pre->ids.ids.size();
      pre->candidates[task] = cand[i];
      // K streams once per BatchReportRows() rows (candidates are rechecked from cache).
      pre->bytes[task] += limits[i] / BatchReportRows() * d * sizeof(float);
    }
  }
}

}  // namespace

void HsrPrefill(ConstHeadsView q, const KvCache& kv, const AttentionParams& p,
                const HsrOptions& options, HeadsView out, HsrCallStats* st) {
  ValidateAttention("hsr prefill", q, kv, p, out);
  HsrOptions o = options;
  o.index_threads = 1;  // rows in parallel over the engine's pool
  DecodeEngine engine(kv, p.ScaleFor(kv.d()), o, /*copy=*/false);
  // err= rows choose their keys by per-key sketch bounds (softmax_cert.h), not by one report;
  // relu + err= is rejected by Attend.
  const bool err_policy =
      options.threshold && options.threshold->kind == ThresholdPolicy::Kind::kErr;
  const bool batch = options.prefill_report == PrefillReport::kBatch ||
                     (options.prefill_report == PrefillReport::kAuto &&
                      p.kind == AttentionKind::kRelu);
  if (!batch || err_policy || kv.n() == 0) {
    engine.Attend(q, p, p.causal, out, st);
    return;
  }
  if (options.threshold) CheckThresholdFor(*options.threshold, kv.n());
  ThreadPool pool(options.threads);
  PrecomputedReports pre;
  Precompute(q, p, options, engine, &pool, &pre);
  engine.Attend(q, p, p.causal, out, st, &pre);
}

}  // namespace hsr
