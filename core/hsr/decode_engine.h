// DecodeEngine: HSR attention for the paper's generation decoding (docs/design.md §1).
//
// Owns (or, for a read-only cache, references) K [Hkv, n, d] and V [Hkv, n, dv] and one exact
// half-space index per kv head (default sketch8; any MakeIndex name). Per query row (q head h,
// row i, kv head h / (Hq / Hkv), `visible` keys: n, or the causal count in Attend):
//   ReLU^alpha  R = R(q, b) from the index; w_j = (s_j - b)^alpha over R computed relative to the
//               row's largest weight; o = sum w_j v_j / sum w_j. EXACT: R is the dense support
//               and s_j is the shared ScoreRun score. Empty R -> zeros, counted in empty_rows.
//   softmax     S = R(q, tau); o = softmax restricted to S; certificate (reported per row)
//                 eps = r e^(tau - M) / (Z_S + r e^(tau - M)),  r = visible - |S|, M = max_S s,
//               Z_S = sum_S e^(s - M); S empty -> dense row (stats.fallbacks, eps = 0).
//               With per-key bounds (sketch8) the row also gets eps_sketch <= eps_tau, each
//               dropped key bounded by its own bound (softmax_cert.h), and eps = eps_sketch.
//               err=E with per-key bounds: keys taken in order of their bound until
//               eps_sketch <= E (SelectBySketch), dense row when more than kCertMaxKeptFrac
//               of the keys would be needed.
//               err=E otherwise: after the first report, tau' = M + ln(E Z_S / r) guarantees
//               eps' <= E (Z grows and r shrinks as tau falls), repeated up to 4 times; else
//               dense row (also at once when the threshold sample puts over half the keys
//               above tau).
// Threshold of a row: p.b_per_query when non-empty (ReLU b, or softmax tau); otherwise the
// engine's policy (options.threshold; softmax default `paper`); otherwise p.b (ReLU).
// Parallelism: rows are spread over the engine's pool when the indexes are single-threaded
// (index_threads = 1); otherwise rows run in turn and each index query uses its own pool.
// Rows sharing a kv head may be screened together first (HsrOptions::batch_rows).
// Reference: dense_ref.h via verify::Oracle. Test: verify/tests/hsr_props.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/attention/kv_cache.h"
#include "core/attention/params.h"
#include "core/hsr/threshold.h"
#include "core/index/half_space_index.h"
#include "core/tensor/view.h"

namespace hsr {

class ThreadPool;

// How the prefill engine finds each row's first report (prefill_engine.h).
enum class PrefillReport {
  kAuto,   // kBatch for ReLU; kIndex for softmax (the same sets and eps_sketch certificate
           // either way; per-row queries measured as fast or faster for softmax on Zen 3:
           // README "Prefill")
  kBatch,  // sketch8's batched integer screen over the causal key prefixes, rows in blocks
           // (softmax rows get sketch8's per-key-bound tail, hence eps_sketch, from it too)
  kIndex,  // one index query per row, restricted to the row's key prefix
};

struct HsrOptions {
  std::string index = "sketch8";  // MakeIndex name
  size_t threads = 1;             // engine pool (>= 1)
  size_t index_threads = 0;       // threads of each index's own pool; 0 = threads
  std::optional<ThresholdPolicy> threshold;  // see the header comment
  IndexOptions index_options;                // threads field ignored (index_threads)
  PrefillReport prefill_report = PrefillReport::kAuto;  // HsrPrefill only
  // Rows of a decode call that share a kv head (grouped-query heads, or m > 1 queries per
  // head; not causal, not err=) are screened together with sketch8: per kv head one
  // Sketch8Index::ReportPrefixBatch, so its codes stream once per call instead of once per row.
  // The same sets and candidates as one index query per row, softmax tails up to summation
  // order. false: one index query per row (HsrPrefill's index mode; tests compare the two).
  bool batch_rows = true;
};

// One query row's facts.
struct HsrRowStats {
  float b = 0.0f;            // threshold used (ReLU b, softmax final tau)
  double mu = 0.0, sigma = 0.0;  // sampled score mean / standard deviation (0 if no sample)
  uint32_t visible = 0;      // keys the row sees
  uint32_t reported = 0;     // |R| (|S| for softmax; visible for a dense fallback)
  uint64_t candidates = 0;   // keys rechecked with ScoreRun by the index (all queries of the row)
  uint64_t bytes_read = 0;   // index bytes + sample + rescored K rows + gathered V rows
  double eps = 0.0;          // softmax certificate met (0 for ReLU and for fallbacks):
                             // eps_sketch where the index has per-key bounds, else eps_tau
  double eps_tau = 0.0;      // tau certificate of the row's set (softmax)
  double eps_sketch = -1.0;  // per-key-bound certificate (softmax); < 0: not available
  int queries = 0;           // index queries issued (err= may lower tau)
  bool empty = false;        // zero output
  bool fallback = false;     // answered by the dense row
};

struct HsrCallStats {
  std::vector<HsrRowStats> rows;  // Hq * m rows, index h * m + i (replaced per call)
  AttentionStats attention;       // merged into the caller's AttentionStats
  IndexStats index;               // summed over every index query of the call
  std::string threshold;          // policy description ("paper", "b=0.5", "per-query b", ...)
  // What reported the keys: the engine's index name (HsrOptions::index), or kBatchReportName
  // when the prefill engine's batched report answered (prefill_engine.h).
  std::string reporter;
  uint64_t sample_seed = 0;
  size_t sample_size = 0;
  double build_us = 0.0;          // index build time (prefill engine, backend Prepare)
};

// Thresholds and reports computed ahead of one Attend call for every row (task h * m + i):
// the prefill engine's batched report (prefill_engine.h). b: the row's threshold (ReLU b or
// softmax tau), est: its sample estimate; ids: R(q, b) among the row's visible keys, exactly as
// an index would report it, with their ScoreRun scores; candidates / bytes: the work it took,
// per row. Later reports of a row (if any) query the engine's index. tail: empty, or per row
// the screen's bound on the unreported keys' sum of e^(s_j - b) (sketch8's per-key bounds,
// Sketch8Index::ReportPrefixBatch; < 0: none for that row); softmax rows with one get
// eps_sketch as from an index report, the others the tau certificate.
struct PrecomputedReports {
  std::vector<float> b;
  std::vector<ThresholdEstimate> est;
  ReportBatch ids;
  std::vector<float> scores;  // ScoreRun score of each id (parallel to ids.ids)
  std::vector<uint64_t> candidates, bytes;
  std::vector<double> tail;
};

// The threshold policy of a call with these options (the rule in the header comment): none
// when p.b_per_query is set or for ReLU without options.threshold (then p.b); otherwise
// options.threshold, or `paper` for softmax.
std::optional<ThresholdPolicy> CallPolicy(const HsrOptions& options, const AttentionParams& p);
// HsrCallStats::threshold of such a call: "per-query b", the policy, or "b=VALUE".
std::string CallThresholdName(const std::optional<ThresholdPolicy>& policy,
                              const AttentionParams& p);

class DecodeEngine {
 public:
  // kv validated by KvCache; scale finite > 0 (the score scale of every call). copy = false
  // references kv's data (it must outlive the engine and stay unchanged); the first Append
  // then copies it. Builds the indexes (time in build_us()); build_index = false defers that to
  // the first call that queries them (an Attend without precomputed reports, or index()).
  DecodeEngine(const KvCache& kv, float scale, const HsrOptions& options, bool copy = true,
               bool build_index = true);
  ~DecodeEngine();
  DecodeEngine(const DecodeEngine&) = delete;
  DecodeEngine& operator=(const DecodeEngine&) = delete;

  // q [Hq, m, d] (Hq a multiple of Hkv), out [Hq, m, dv]; every row sees all n keys.
  // p.causal is ignored; p.scale must give this engine's scale. Throws hsr::Error before any
  // work on bad input. st may be null.
  void Decode(ConstHeadsView q, const AttentionParams& p, HeadsView out, HsrCallStats* st);
  // Decode, or causal (bottom-right aligned: row i of m sees keys j <= i + n - m).
  // pre (may be null): thresholds and first reports computed ahead (PrecomputedReports).
  void Attend(ConstHeadsView q, const AttentionParams& p, bool causal, HeadsView out,
              HsrCallStats* st, const PrecomputedReports* pre = nullptr);
  // Appends one key and value per kv head: k [Hkv, d] (a Hkv x d matrix), v [Hkv x dv].
  // Validated first (shapes, finiteness); on error the engine is unchanged.
  void Append(ConstMatrixView k, ConstMatrixView v);

  size_t kv_heads() const { return heads_.size(); }
  size_t n() const { return n_; }
  size_t d() const { return d_; }
  size_t dv() const { return dv_; }
  float scale() const { return scale_; }
  double build_us() const { return build_us_; }  // index build time so far (0: none built)
  bool indexed() const { return indexed_; }
  const HsrOptions& options() const { return options_; }
  // Throws hsr::Error when the indexes are not built yet (build_index = false).
  const HalfSpaceIndex& index(size_t kv_head) const;
  // The memory its calls read besides q: each kv head's index buffers (HalfSpaceIndex::Buffers),
  // its packed threshold sample once a call has made it (sample_scores.h) and, once it owns
  // them, its K and V copies (a referenced cache is the caller's to list).
  std::vector<std::span<const std::byte>> Buffers() const;
  // K of one kv head as the engine scores it (n x d, stride d).
  ConstMatrixView keys(size_t kv_head) const { return {heads_[kv_head].k, n_, d_, d_}; }

 private:
  struct Head {
    std::vector<float> k_own, v_own;  // used when owned
    const float* k = nullptr;         // n x d, stride d
    const float* v = nullptr;         // n x dv, stride dv
    std::unique_ptr<HalfSpaceIndex> index;
  };
  void MakeOwned();
  void BuildIndexes();  // once; time added to build_us_
  // Attend's validation (throws hsr::Error; nothing is touched before it passes).
  void CheckCall(ConstHeadsView q, const AttentionParams& p, HeadsView out,
                 const std::optional<ThresholdPolicy>& policy,
                 const PrecomputedReports* pre) const;
  // The call's HsrCallStats from its rows and the per-thread index counters.
  void FillCallStats(std::vector<HsrRowStats> row_stats,
                     const std::vector<IndexStats>& index_stats,
                     const std::optional<ThresholdPolicy>& policy, const AttentionParams& p,
                     bool precomputed, HsrCallStats* st) const;

  HsrOptions options_;
  std::vector<Head> heads_;
  size_t n_ = 0, d_ = 0, dv_ = 0;
  float scale_ = 1.0f;
  float max_abs_k_ = 0.0f;
  bool owned_ = false;
  bool indexed_ = false;
  IndexOptions io_;
  double build_us_ = 0.0;
  std::unique_ptr<ThreadPool> pool_;
  // Per-thread buffers of Attend, kept across calls (decode_engine.cc).
  struct CallScratch;
  std::unique_ptr<CallScratch> scratch_;
};

// The per-query thresholds the engine would use for `policy` (the same seeded sample and score
// kernel): [Hq * m], index h * m + i, with causal visibility when causal. For handing the same
// b to dense backends and the oracle (b_per_query). est (may be null) gets each row's estimate.
std::vector<float> ResolveThresholds(ConstHeadsView q, const KvCache& kv, float scale,
                                     const ThresholdPolicy& policy, bool causal,
                                     std::vector<ThresholdEstimate>* est);

}  // namespace hsr
