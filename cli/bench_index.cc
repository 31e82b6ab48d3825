// hsr bench index: flag parsing and printing; the measurement is sim::RunIndexBench.
#include <unistd.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/flags.h"
#include "core/base/error.h"
#include "core/hsr/threshold.h"
#include "sim/bench/flag_values.h"
#include "sim/bench/index_bench.h"
#include "sim/workload/workload.h"

namespace hsr::cli {

int BenchIndex(const std::vector<std::string>& args) {
  const std::string default_indexes = sim::DefaultBenchIndexList();
  po::options_description desc(
      "Usage: hsr bench index [flags]\n\n"
      "Builds every --index on the same keys (K head 0, n x d) and answers the same m queries "
      "(Q head 0) with the same per-query thresholds: build time, memory, us per query with one "
      "query per call and batched (QueryBatch over all m), reported / candidates / bytes read per "
      "query, speedup vs scan (and vs faiss when built) measured in this run, and whether each "
      "index reported exactly scan's set (exit 1 if a non-faiss index differs).\n\nFlags");
  desc.add_options()
      ("help,h", "this text")
      ("workload", Str("SPEC"),
       "workload KIND[:key=value,...] (default gaussian); --n --d --m override its keys")
      ("n", Str("N"), "keys (default 65536)")
      ("d", Str("D"), "head dim (default 128)")
      ("m", Str("M"), "queries (default 64)")
      ("seed", Str("S"), "workload seed (default 1)")
      ("index", Str("LIST"),
       fmt::format("comma-separated, of {} (default {}); scan always runs as the reference",
                   fmt::join(sim::BenchIndexNames(), ", "), default_indexes).c_str())
      ("threshold", Str("POLICY"),
       "b=VALUE | paper | count=K | frac=F, per query as hsr-cpu resolves it (default paper: "
       "b = mu + sigma sqrt(0.4 ln n) from a seeded sample of 1024 keys)")
      ("threads", Str("T"), "threads per index (default 1)")
      ("repeats", Str("R"), "timing rounds, >= 1 (default 5)")
      ("format", Str("FMT"), "table | json (default table; json: one row per line)");

  const auto parsed = ParseFlags(args, desc);
  if (!parsed) return 0;  // --help
  const po::variables_map& vm = *parsed;
  auto get = [&](const char* key) { return Get(vm, key); };

  sim::WorkloadSpec spec = sim::ParseWorkloadSpec(get("workload").value_or("gaussian"));
  for (const char* flag : {"n", "d", "m"}) {
    if (auto v = get(flag)) spec.Set(flag, std::to_string(sim::IntegerFlag(flag, *v, 1)));
  }
  if (!spec.Has("m")) spec.Set("m", "64");
  if (auto v = get("seed")) spec.Set("seed", std::to_string(sim::IntegerFlag("seed", *v, 0)));

  sim::IndexBenchConfig cfg;
  cfg.indexes = sim::ParseBenchIndexList(get("index").value_or(default_indexes));
  cfg.threshold = ParseThreshold(get("threshold").value_or("paper"));
  sim::CheckIndexThreshold(cfg.threshold);
  cfg.threads = sim::IntegerFlag("threads", get("threads").value_or("1"), 1);
  cfg.repeats = sim::IntegerFlag("repeats", get("repeats").value_or("5"), 1);
  const std::string format =
      sim::Choice("format", get("format").value_or("table"), {"table", "json"});

  const bool tty = isatty(STDERR_FILENO);
  if (tty) cfg.progress = [](const std::string& s) { fmt::print(stderr, "\r\033[K{}", s); };
  auto source = sim::MakeWorkloadSource(spec);  // checks every key before generating
  if (cfg.progress) cfg.progress("generating " + source->Describe());
  const sim::Workload w = source->Make();
  const sim::IndexBenchResult res = sim::RunIndexBench(w, cfg);
  if (tty) fmt::print(stderr, "\r\033[K");

  bool core_differs = false;
  for (const auto& r : res.rows) core_differs |= !r.exact() && r.row.index != "faiss";
  if (format == "json") {
    for (const auto& r : res.rows) fmt::print("{}\n", sim::ToJson(r).dump());
  } else {
    fmt::print("# hsr bench index on {} ({}), Highway target {}, LLC {:.1f} MiB, commit {}\n",
               res.facts.host, res.facts.cpu_model, res.facts.cpu_target,
               static_cast<double>(res.facts.llc_bytes) / (1 << 20), res.facts.commit);
    fmt::print("# workload {}; keys K head 0 (n={} x d={}), queries Q head 0 (m={}), all keys "
               "visible; scale {:.6g}; threads {}\n",
               w.description, w.n, w.d, w.m, res.scale, cfg.threads);
    if (cfg.threshold.NeedsSample()) {
      fmt::print("# threshold {} per query over {} sampled keys ({}, seed {}); b mean {:.4f}, min "
                 "{:.4f}, max {:.4f}\n",
                 cfg.threshold.ToString(), res.threshold_sample,
                 res.threshold_sample == w.n ? "all keys" : "distinct keys, reservoir",
                 cfg.threshold.seed, res.b_mean, res.b_min, res.b_max);
    } else {
      fmt::print("# threshold {} for every query\n", cfg.threshold.ToString());
    }
    fmt::print("# time: us per query, median / p10 / p90 over {} rounds x {} single-query calls; "
               "batch_us = QueryBatch(all m) / m (median of {}); speedup = scan / index (same run); "
               "vs_faiss = faiss / index (single/batched); cache: warm (nothing evicted)\n",
               cfg.repeats, w.m, cfg.repeats);
    sim::PrintIndexTable(stdout, res.rows);
    for (const auto& r : res.rows) {
      if (!r.describe.empty()) fmt::print("# {}: {}\n", *r.row.index, r.describe);
    }
    for (const auto& r : res.rows) {
      if (!r.exact()) {
        fmt::print("# {}: {} of {} queries differ from scan ({} keys in the symmetric difference){}\n",
                   *r.row.index, r.differing_queries, w.m, r.differing_keys,
                   *r.row.index == "faiss" ? " (peer: rounding of <q,k> > b/scale, not a failure)"
                                           : " -- FAIL");
      }
    }
  }
  if (core_differs) {
    fmt::print(stderr, "hsr: error: bench index: expected every index to report exactly scan's "
                       "sets, got differing sets (see the vs_scan column)\n");
    return 1;
  }
  return 0;
}

}  // namespace hsr::cli
