// hsr inspect: what a workload looks like to a threshold-sparse attention (docs/design.md §1, §4).
//
// Per query head: Q and K row norms; the scaled-score distribution s = scale <q, k> over sampled
// (query, visible key) pairs (every visible key of each sampled query); per sampled query the
// fraction of visible keys reported at the `paper` threshold b = mu + sigma sqrt(0.4 ln n_visible)
// (core's PaperThreshold, threshold.h; mu, sigma: mean and standard deviation of that query's
// visible scores, computed exactly over all of them rather than from a sample) and at global
// thresholds set at pooled score quantiles (sim/stats/summary.h), next to n_visible^(4/5); the
// softmax mass in the top ceil(n_visible^(4/5)) keys and above the paper b; the largest single
// softmax weight; effective rank of K (eigenvalues of K^T K / n, an uncentred second moment:
// components for 90% / 99% of the trace), and sink keys (top-1 key for more than 5% of the sampled
// queries).
// Sampled queries: up to `queries` rows evenly spaced over the query rows; with causal data only
// rows from the second half (late, decode-like queries that see most keys). Everything in float64.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/workload/workload.h"

namespace hsr::sim {

struct InspectOptions {
  size_t queries = 64;                          // sampled query rows per head
  std::vector<double> quantiles = {0.9, 0.99, 0.999};  // global thresholds (pooled scores)
  float scale = 0.0f;                           // 0: the workload's, else 1/sqrt(d)
  double cert_err = 1e-3;                       // E of the keys-needed columns
};

// Mean, min, max of a per-query quantity.
struct Spread {
  double mean = 0, min = 0, max = 0;
};

struct HeadInspection {
  size_t q_head = 0, kv_head = 0, sampled = 0;
  double visible_mean = 0;
  double q_norm_mean = 0, q_norm_max = 0, k_norm_mean = 0, k_norm_max = 0;
  double score_mean = 0, score_std = 0, score_max = 0, score_p999 = 0;
  Spread paper_frac;                   // reported / visible at the paper b
  std::vector<double> quantile_b;      // threshold per options.quantiles
  std::vector<Spread> quantile_frac;   // reported / visible at each
  double n45_frac = 0;                 // mean of ceil(nv^0.8) / nv
  Spread mass_top_n45, mass_above_paper, max_weight;
  size_t rank90 = 0, rank99 = 0;       // of K's kv head
  std::vector<std::pair<size_t, double>> sinks;  // key, share of sampled queries (top-1)
  // Keys to read for softmax error <= cert_err, median over the sampled queries, as a fraction
  // of the visible keys: tau certificate, sketch8 per-key certificate, hsr-cpu's err= path
  // (dense fallback = 1), true-mass minimum (verify/keys_needed.h).
  double need_tau = 0, need_sketch = 0, need_engine = 0, need_true = 0;
};

struct Inspection {
  std::string workload;
  size_t q_heads = 0, kv_heads = 0, n = 0, m = 0, d = 0, dv = 0;
  double scale = 0;
  bool causal = false;
  size_t row_begin = 0, row_end = 0;  // sampled query rows come from [row_begin, row_end)
  std::vector<double> quantiles;
  double cert_err = 1e-3;
  std::vector<HeadInspection> heads;
};

// Throws hsr::Error on an empty workload (n = 0 or m = 0).
Inspection Inspect(const Workload& w, const InspectOptions& options = {});

// Markdown table, one row per query head, preceded by '#' lines naming workload and shapes.
std::string FormatInspectionTable(const Inspection& in);
nlohmann::json InspectionToJson(const Inspection& in);

}  // namespace hsr::sim
