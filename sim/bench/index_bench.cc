#include "sim/bench/index_bench.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/attention/kv_cache.h"
#include "core/base/error.h"
#include "core/hsr/decode_engine.h"
#include "sim/bench/flag_values.h"
#include "sim/bench/table.h"
#include "sim/machine/timing.h"
#include "sim/peers/faiss_index.h"
#include "sim/stats/summary.h"

namespace hsr::sim {
namespace {

void Progress(const IndexBenchConfig& c, const std::string& s) {
  if (c.progress) c.progress(s);
}

// Sorted copy of each query's ids.
std::vector<std::vector<uint32_t>> Sorted(const ReportBatch& r) {
  std::vector<std::vector<uint32_t>> out(r.queries());
  for (size_t i = 0; i < r.queries(); ++i) {
    const auto ids = r.Ids(i);
    out[i].assign(ids.begin(), ids.end());
    std::sort(out[i].begin(), out[i].end());
  }
  return out;
}

uint64_t SymmetricDifference(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b) {
  std::vector<uint32_t> diff;
  std::set_symmetric_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(diff));
  return diff.size();
}

// Per-query thresholds of the queries (Q head 0) over the keys (K head 0), as the engines
// resolve them (every key visible).
std::vector<float> IndexThresholds(const Workload& w, float scale, const ThresholdPolicy& policy) {
  const KvCache kv{ConstHeadsView(w.k.Matrix(0)), ConstHeadsView(w.v.Matrix(0))};
  return ResolveThresholds(ConstHeadsView(w.q.Matrix(0)), kv, scale, policy, /*causal=*/false,
                           nullptr);
}

struct Entry {
  std::string name;
  std::unique_ptr<HalfSpaceIndex> index;
  double build_ms = 0;
  std::vector<double> single_us, batch_us;
  IndexStats stats;  // of the untimed pass
  std::vector<std::vector<uint32_t>> sets;  // untimed pass, sorted
  std::vector<std::vector<uint32_t>> batch_sets;  // first batched call, sorted
};

}  // namespace

std::vector<std::string> BenchIndexNames() {
  std::vector<std::string> names = IndexNames();
  if (FaissAvailable()) names.push_back("faiss");
  return names;
}

std::string DefaultBenchIndexList() { return fmt::format("{}", fmt::join(BenchIndexNames(), ",")); }

std::vector<std::string> ParseBenchIndexList(std::string_view list) {
  const std::vector<std::string> known = BenchIndexNames();
  const std::string expected =
      fmt::format("a comma-separated list of {}{}", fmt::join(known, ", "),
                  FaissAvailable() ? "" : " (faiss: not built, libfaiss-dev was not found)");
  std::vector<std::string> out;
  for (const std::string& name : SplitComma(list)) {
    HSR_CHECK(!name.empty(), "--index: expected {}, got an empty name in '{}'", expected, list);
    HSR_CHECK(std::find(known.begin(), known.end(), name) != known.end(),
              "--index: expected {}, got '{}'", expected, name);
    HSR_CHECK(std::find(out.begin(), out.end(), name) == out.end(),
              "--index: expected each index once, got '{}' twice", name);
    out.push_back(name);
  }
  return out;
}

std::unique_ptr<HalfSpaceIndex> MakeBenchIndex(std::string_view name, const IndexOptions& options) {
  if (name == "faiss") return MakeFaissIndex(options.threads);
  return MakeIndex(name, options);
}

void CheckIndexThreshold(const ThresholdPolicy& policy) {
  HSR_CHECK(policy.kind != ThresholdPolicy::Kind::kErr,
            "threshold: expected b=VALUE|paper|count=K|frac=F for a half-space report, got '{}' "
            "(err= is a softmax policy)", policy.ToString());
}

IndexBenchResult RunIndexBench(const Workload& w, const IndexBenchConfig& cfg) {
  HSR_CHECK(cfg.threads >= 1, "bench index: expected threads >= 1, got {}", cfg.threads);
  HSR_CHECK(cfg.repeats >= 1, "bench index: expected repeats >= 1, got {}", cfg.repeats);
  HSR_CHECK(w.n >= 1 && w.d >= 1 && w.m >= 1,
            "bench index: expected n, d, m >= 1, got n={} d={} m={}", w.n, w.d, w.m);
  CheckIndexThreshold(cfg.threshold);
  std::vector<std::string> names = cfg.indexes;
  names.erase(std::remove(names.begin(), names.end(), "scan"), names.end());
  names.insert(names.begin(), "scan");

  IndexBenchResult res;
  res.facts = ThisMachine();
  res.scale = w.scale > 0 ? w.scale : 1.0f / std::sqrt(static_cast<float>(w.d));
  res.threshold_sample = cfg.threshold.NeedsSample() ? std::min(cfg.threshold.sample, w.n) : 0;

  const ConstMatrixView keys = w.k.Matrix(0);
  const ConstMatrixView queries = w.q.Matrix(0);
  const size_t m = queries.rows;
  Progress(cfg, fmt::format("thresholds ({})", cfg.threshold.ToString()));
  const std::vector<float> b = IndexThresholds(w, res.scale, cfg.threshold);
  for (const float v : b) {
    HSR_CHECK(std::isfinite(v), "bench index: expected finite thresholds, got {}", v);
  }
  res.b_mean = 0;
  res.b_min = *std::min_element(b.begin(), b.end());
  res.b_max = *std::max_element(b.begin(), b.end());
  for (const float v : b) res.b_mean += v / static_cast<double>(m);

  IndexOptions opts;
  opts.threads = cfg.threads;
  opts.seed = w.seed;
  std::vector<Entry> entries;
  for (const auto& name : names) {
    Progress(cfg, fmt::format("building {}", name));
    Entry e;
    e.name = name;
    e.index = MakeBenchIndex(name, opts);
    const double t0 = NowMicros();
    e.index->Build(keys, res.scale);
    e.build_ms = (NowMicros() - t0) / 1000.0;
    entries.push_back(std::move(e));
  }

  // Untimed pass: sets, counters, warm-up; then the batched sets.
  std::vector<uint32_t> ids;
  for (auto& e : entries) {
    Progress(cfg, fmt::format("checking {}", e.name));
    ReportBatch single;
    single.offsets.assign(1, 0);
    for (size_t i = 0; i < m; ++i) {
      e.index->Query(queries.RowSpan(i), b[i], &ids, &e.stats);
      single.ids.insert(single.ids.end(), ids.begin(), ids.end());
      single.offsets.push_back(single.ids.size());
    }
    e.sets = Sorted(single);
    ReportBatch batch;
    e.index->QueryBatch(queries, b, &batch, nullptr);
    e.batch_sets = Sorted(batch);
  }

  for (size_t r = 0; r < cfg.repeats; ++r) {
    for (auto& e : entries) {
      Progress(cfg, fmt::format("timing {} (round {}/{})", e.name, r + 1, cfg.repeats));
      for (size_t i = 0; i < m; ++i) {
        const double t0 = NowMicros();
        e.index->Query(queries.RowSpan(i), b[i], &ids, nullptr);
        e.single_us.push_back(NowMicros() - t0);
      }
      ReportBatch batch;
      const double t0 = NowMicros();
      e.index->QueryBatch(queries, b, &batch, nullptr);
      e.batch_us.push_back((NowMicros() - t0) / static_cast<double>(m));
    }
  }

  const Entry& scan = entries.front();
  for (const auto& e : entries) {
    IndexBenchRow out;
    ResultRow& row = out.row;
    row.commit = res.facts.commit;
    row.host = res.facts.host;
    row.cpu_target = res.facts.cpu_target;
    row.threads = cfg.threads;
    row.backend = "index";
    row.index = e.name;
    row.workload = w.description;
    row.seed = w.seed;
    row.n = w.n;
    row.m = m;
    row.d = w.d;
    row.dv = w.dv;
    row.heads = 1;
    row.kv_heads = 1;
    row.mode = "index";
    row.attention = "half-space report";
    row.threshold = cfg.threshold.ToString();
    row.b = res.b_mean;
    out.b_min = res.b_min;
    out.b_max = res.b_max;
    out.threshold_sample = res.threshold_sample;
    out.threshold_seed = cfg.threshold.seed;
    row.scale = res.scale;
    const Summary single = Summarize(e.single_us);
    const Summary batch = Summarize(e.batch_us);
    row.median_us = single.median;
    row.p10_us = single.p10;
    row.p90_us = single.p90;
    row.repeats = cfg.repeats;
    std::vector<double> counts;
    for (const auto& s : e.sets) counts.push_back(static_cast<double>(s.size()));
    const Summary rep = Summarize(counts);
    row.reported_mean = rep.mean;
    row.reported_p50 = rep.median;
    row.reported_p99 = Quantile(counts, 0.99);
    const double md = static_cast<double>(m);
    row.candidates_mean = static_cast<double>(e.stats.candidates) / md;
    row.bytes_read = static_cast<double>(e.stats.bytes_read) / md;
    out.keys_bounded_mean = static_cast<double>(e.stats.keys_bounded) / md;
    out.describe = e.index->Describe();
    out.build_ms = e.build_ms;
    out.memory_bytes = e.index->MemoryBytes();
    out.batch_median_us = batch.median;
    out.batch_p10_us = batch.p10;
    out.batch_p90_us = batch.p90;
    const Summary scan_single = Summarize(scan.single_us);
    const Summary scan_batch = Summarize(scan.batch_us);
    row.speedup = scan_single.median / single.median;
    row.speedup_vs = "scan";
    out.batch_speedup = scan_batch.median / batch.median;
    for (const auto& f : entries) {
      if (f.name != "faiss") continue;
      out.speedup_vs_faiss = Summarize(f.single_us).median / single.median;
      out.batch_speedup_vs_faiss = Summarize(f.batch_us).median / batch.median;
    }
    for (size_t i = 0; i < m; ++i) {
      const uint64_t diff = SymmetricDifference(e.sets[i], scan.sets[i]);
      out.differing_keys += diff;
      if (diff != 0 || e.batch_sets[i] != scan.sets[i]) ++out.differing_queries;
    }
    res.rows.push_back(std::move(out));
  }
  return res;
}

nlohmann::ordered_json ToJson(const IndexBenchRow& r) {
  nlohmann::ordered_json j = ToJson(r.row);
  j["time_unit"] = "us per query (median_us: one Query call; batch_*: QueryBatch call / m)";
  j["index_describe"] = r.describe;
  j["b_min"] = r.b_min;
  j["b_max"] = r.b_max;
  j["threshold_sample"] = r.threshold_sample;
  j["threshold_seed"] = r.threshold_seed;
  j["build_ms"] = r.build_ms;
  j["memory_bytes"] = r.memory_bytes;
  j["batch_median_us"] = r.batch_median_us;
  j["batch_p10_us"] = r.batch_p10_us;
  j["batch_p90_us"] = r.batch_p90_us;
  j["keys_bounded_mean"] = r.keys_bounded_mean;
  j["batch_speedup"] = r.batch_speedup ? nlohmann::ordered_json(*r.batch_speedup) : nullptr;
  j["speedup_vs_faiss"] = r.speedup_vs_faiss ? nlohmann::ordered_json(*r.speedup_vs_faiss) : nullptr;
  j["batch_speedup_vs_faiss"] =
      r.batch_speedup_vs_faiss ? nlohmann::ordered_json(*r.batch_speedup_vs_faiss) : nullptr;
  j["exact"] = r.exact();
  j["differing_queries"] = r.differing_queries;
  j["differing_keys"] = r.differing_keys;
  return j;
}

void PrintIndexTable(std::FILE* out, const std::vector<IndexBenchRow>& rows) {
  const std::vector<std::string> header = {
      "index", "threads", "build_ms", "memory", "median_us", "p10_us", "p90_us", "batch_us",
      "reported", "candidates", "bytes/query", "speedup", "batch_speedup", "vs_faiss", "vs_scan"};
  std::vector<std::vector<std::string>> cells;
  for (const auto& r : rows) {
    const ResultRow& x = r.row;
    cells.push_back({
        x.index.value_or("?"), fmt::format("{}", x.threads), fmt::format("{:.1f}", r.build_ms),
        FormatBytes(static_cast<double>(r.memory_bytes)), fmt::format("{:.1f}", x.median_us),
        fmt::format("{:.1f}", x.p10_us), fmt::format("{:.1f}", x.p90_us),
        fmt::format("{:.1f}", r.batch_median_us),
        fmt::format("{:.1f}", x.reported_mean.value_or(0)),
        fmt::format("{:.1f}", x.candidates_mean.value_or(0)),
        FormatBytes(x.bytes_read.value_or(0)),
        fmt::format("{:.2f}x", x.speedup.value_or(0)),
        fmt::format("{:.2f}x", r.batch_speedup.value_or(0)),
        r.speedup_vs_faiss ? fmt::format("{:.2f}x/{:.2f}x", *r.speedup_vs_faiss,
                                         r.batch_speedup_vs_faiss.value_or(0))
                           : std::string("-"),
        r.exact() ? std::string("exact")
                  : fmt::format("{} queries differ ({} keys)", r.differing_queries,
                                r.differing_keys)});
  }
  std::vector<bool> left(header.size(), false);
  left.front() = left.back() = true;  // index name, vs_scan text
  PrintAligned(out, header, cells, left);
}

}  // namespace hsr::sim
