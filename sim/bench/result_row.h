// Result rows (docs/design.md §4): one per (backend, point); JSON keys in snake_case, the same rows
// `hsr bench --format json` prints and `hsr sweep` appends to results.jsonl. Fields a backend
// does not produce (index, reported_*, eps_* for dense) are std::nullopt and written as null.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hsr::sim {

struct ResultRow {
  // Where and what.
  std::string commit, host;
  std::string cpu_target;      // the Highway target that ran (e.g. "AVX2")
  std::string target = "best"; // the one asked for (--target; sim/bench/targets.h)
  size_t threads = 1;
  std::string backend;
  std::optional<std::string> index;
  std::string workload;  // WorkloadSource::Describe()
  uint64_t seed = 0;
  size_t n = 0, m = 0, d = 0, dv = 0, heads = 0, kv_heads = 0;
  std::string mode;  // "decode" or "prefill"
  bool causal = false;        // the mask every backend and the oracle used (bench.h)
  std::string causal_source;  // "flag" | "workload" | "default" (ResolveCausalMask)
  std::optional<int> alpha;  // relu only
  std::string attention;     // "softmax" or "relu"
  std::optional<std::string> threshold;  // policy, e.g. "b=0.5" (relu / HSR)
  std::optional<double> b;               // value used
  double scale = 0;
  // Time per query token: one call's wall time / m (each call covers all heads), microseconds.
  double median_us = 0, p10_us = 0, p90_us = 0;
  size_t repeats = 0;     // the floor of samples per backend (--repeats)
  size_t samples = 0;     // samples taken (paired rounds, sim/bench/sampling.h)
  bool cold = false;      // caches evicted before each sample (sim/machine/cache_evict.h)
  std::optional<double> gbs, roofline_frac;  // K and V bytes per call / call time; / read_gbs
  std::optional<double> read_gbs;            // measured read roofline for `threads`
  std::optional<double> reported_mean, reported_p50, reported_p99, candidates_mean;
  std::optional<double> bytes_read;  // per call
  // Versus the float64 oracle on oracle_rows of the heads * m query rows (sampled when large).
  std::optional<double> max_abs_err, rel_l2_err;
  size_t oracle_rows = 0, total_rows = 0;
  // Oracle rows left out of max_abs_err / rel_l2_err because a score at the threshold may flip
  // the ReLU row between empty and not (verify/oracle_sample.h), and the elements of all oracle
  // rows beyond their derived float32 tolerance (verify/oracle.h; 0 for a correct dense
  // backend, and for hsr-cpu ReLU; softmax HSR rows are judged by their certificate instead).
  size_t ambiguous_rows = 0, beyond_tol = 0;
  std::optional<double> eps_max, eps_mean;
  // Softmax HSR: the tau certificate and the sketch per-key-bound certificate of each
  // row (eps_* is the one the row meets: eps_sketch where the index has per-key bounds), and
  // max over the oracle rows with eps > 0 of max_c |o - o_ref| / (2 eps max|v| + 2 tol) (<= 1: the
  // docs/design.md §1 bound holds on every checked row).
  std::optional<double> eps_tau_max, eps_tau_mean, eps_sketch_max, eps_sketch_mean;
  std::optional<double> err_over_cert_max;
  uint64_t empty_rows = 0, fallbacks = 0;
  // Median over paired rounds of speedup_vs's sample / this one's, and its 95% order-statistic
  // interval (absent with too few samples: fewer than 6).
  std::optional<double> speedup, speedup_lo, speedup_hi;
  std::optional<std::string> speedup_vs;
};

nlohmann::ordered_json ToJson(const ResultRow& row);

// Aligned console table of the main columns (text through fmt).
void PrintTable(std::FILE* out, const std::vector<ResultRow>& rows);

}  // namespace hsr::sim
