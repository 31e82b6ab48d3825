// One index benchmark point (hsr bench index): every half-space index on the same keys and
// the same per-query thresholds, timed in one process, with report sets checked against scan.
//
// Data: keys = K head 0 (n x d), queries = the first m rows of Q head 0; every key is visible to
// every query (no causal mask). scale = the workload's scale, else 1/sqrt(d).
// Thresholds: any policy of core/hsr/threshold.h but err= (a softmax policy; an index answers a
// fixed b), per query exactly as the HSR engines resolve it (hsr::ResolveThresholds over the
// queries and keys above: the policy's seeded sample of key ids, the shared float32 score
// kernel, EstimateThreshold), so `bench index` and `bench decode` give a query the same b.
// Method: scan (the reference and the speedup base) always runs, first. Each index is built once
// (build_ms, one sample). One untimed pass of Query calls gives the report sets (compared with
// scan's after sorting), counters and the warm-up; then `repeats` rounds, and in each round every
// index in turn answers all m queries one Query call at a time (each call one sample) and then
// one QueryBatch call over all m (one sample: call time / m). Interleaving the indexes within a
// round spreads machine noise over all of them. The batched sets are checked too.
// Cache: nothing is evicted between calls; index data is DRAM-resident only when it is much
// larger than the last-level cache (memory_bytes vs llc_bytes is printed).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/hsr/threshold.h"
#include "core/index/half_space_index.h"
#include "sim/bench/bench.h"
#include "sim/bench/result_row.h"
#include "sim/workload/workload.h"

namespace hsr::sim {

// Names `hsr bench index --index` accepts: core's IndexNames() plus "faiss" when built.
std::vector<std::string> BenchIndexNames();
// Default --index list: every name above.
std::string DefaultBenchIndexList();
// Comma-separated list -> names; hsr::Error on an unknown, empty or repeated name.
std::vector<std::string> ParseBenchIndexList(std::string_view list);
// MakeIndex(name) for core's names, MakeFaissIndex for "faiss" (sim knows what is built).
std::unique_ptr<HalfSpaceIndex> MakeBenchIndex(std::string_view name, const IndexOptions& options);

// hsr::Error unless the policy applies to a half-space report (err= is a softmax policy).
void CheckIndexThreshold(const ThresholdPolicy& policy);

struct IndexBenchConfig {
  std::vector<std::string> indexes;  // scan is added first when missing
  ThresholdPolicy threshold;         // default: paper
  size_t threads = 1;
  size_t repeats = 5;
  std::function<void(const std::string&)> progress;  // may be empty
};

struct IndexBenchRow {
  ResultRow row;  // shared columns (backend "index", index name, single-query times, counters)
  std::string describe;          // HalfSpaceIndex::Describe()
  double build_ms = 0;
  size_t memory_bytes = 0;
  double batch_median_us = 0, batch_p10_us = 0, batch_p90_us = 0;  // QueryBatch time / m
  double keys_bounded_mean = 0;
  std::optional<double> batch_speedup;                  // vs scan's batched median
  std::optional<double> speedup_vs_faiss, batch_speedup_vs_faiss;
  double b_min = 0, b_max = 0;   // over queries (row.b is their mean)
  size_t threshold_sample = 0;   // keys sampled per query (0 for b=VALUE)
  uint64_t threshold_seed = 0;
  size_t differing_queries = 0;  // queries whose set (single or batched) differs from scan's
  uint64_t differing_keys = 0;   // symmetric difference summed over queries (single calls)
  bool exact() const { return differing_queries == 0; }
};

struct IndexBenchResult {
  MachineFacts facts;  // host, CPU, commit, target, LLC (no rooflines: nothing here streams)
  float scale = 0;
  size_t threshold_sample = 0;  // keys sampled per query (0 for b=VALUE; n when n <= the sample)
  double b_mean = 0, b_min = 0, b_max = 0;
  std::vector<IndexBenchRow> rows;
};

// Throws hsr::Error on invalid input (before anything is timed).
IndexBenchResult RunIndexBench(const Workload& w, const IndexBenchConfig& config);

// Row as JSON: ToJson(row.row) plus the index columns (snake_case).
nlohmann::ordered_json ToJson(const IndexBenchRow& row);
// Aligned console table.
void PrintIndexTable(std::FILE* out, const std::vector<IndexBenchRow>& rows);

}  // namespace hsr::sim
