// One benchmark point (hsr bench decode|prefill): every backend on one workload, timed the
// same way, with error columns against the float64 oracle and GB/s against the read roofline
// measured in the same run.
//
// Method: every backend is made and prepared (hsr-cpu builds its indexes, once) outside timing,
// and gets one untimed warm-up call (its output is what the error columns and --save-output use).
// Then the backends are sampled in alternation, A B A B ... on the same data (sampling.h): each
// round takes one sample of each, speedups are medians of the per-round ratios with their 95%
// order-statistic intervals, and rounds go on past the `repeats` floor until every interval's
// half-width is <= ci_width x its median or `budget_s` seconds of rounds are spent.
// Cold (default): before each sample, every cache line of K, V, q, out and of every buffer a
// backend keeps (AttentionBackend::Buffers: index codes, bounds, norms, key copies) is evicted
// (sim/machine/cache_evict.h: CLFLUSHOPT), and the sample is one call, so each timed call reads
// its data from DRAM whatever the size of the last-level cache. GPU backends' device memory is
// not reachable by host flushes (their device caches stay warm). Warm (cold off): a sample is
// enough back-to-back calls to last ~1 ms. A sample's time / calls / m is the time per query
// token.
// Target: the whole point (thresholds, index builds, timed calls) runs under `target`
// (targets.h; best = the dispatcher's choice); each row records the target that ran.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/attention/params.h"
#include "core/hsr/decode_engine.h"
#include "core/hsr/threshold.h"
#include "sim/bench/result_row.h"
#include "sim/bench/sampling.h"
#include "sim/bench/targets.h"
#include "sim/machine/bandwidth.h"
#include "sim/machine/fma_peak.h"
#include "sim/workload/workload.h"

namespace hsr::sim {

enum class ColdMode { kAuto, kOn, kOff };

struct BenchConfig {
  bool prefill = false;  // Prefill instead of Decode
  std::vector<std::string> backends;
  // params.causal is set by RunBench (ResolveCausalMask); an unset params.scale becomes the
  // workload's (Workload::scale: a recording's manifest scale) when it has one.
  AttentionParams params;
  // --causal on|off: the mask every backend and the oracle use, Decode and Prefill alike;
  // unset: the workload's own (ResolveCausalMask).
  std::optional<bool> causal;
  size_t threads = 1;
  SamplingRule sampling;            // repeats floor, budget, interval width (sampling.h)
  ColdMode cold = ColdMode::kAuto;  // auto = on
  TargetChoice target;              // best by default; must be runnable (RequireTarget)
  std::string save_output_prefix;   // empty: do not save
  double oracle_budget_macs = 0x1p28;
  std::function<void(const std::string&)> progress;  // may be empty
  // Read rooflines already measured, by thread count: used instead of measuring, and filled
  // with what this run measures (a sweep probes each thread count once). May be null.
  std::map<size_t, ReadBandwidth>* read_cache = nullptr;
  // HSR backends (hsr-cpu): index name, and the threshold policy. With a policy and ReLU, the
  // per-query b it gives (hsr::ResolveThresholds) is handed to every other backend and to the
  // oracle as b_per_query; hsr-cpu computes the same values itself inside the timed call.
  std::string index = "sketch8";
  std::optional<ThresholdPolicy> threshold;
  PrefillReport prefill_report = PrefillReport::kAuto;  // hsr-cpu prefill only
};

struct MachineFacts {
  std::string host, cpu_model, commit, cpu_target;
  size_t llc_bytes = 0;
  std::map<size_t, ReadBandwidth> read;  // by thread count
  std::map<size_t, FmaPeak> fma;         // by thread count (prefill runs only)
};

// Host, CPU model, commit, Highway target and LLC size of this run (no rooflines measured).
MachineFacts ThisMachine();

// The causal mask of a point and where it came from (result rows: causal, causal_source):
// "flag" when --causal on|off was given, else Workload::causal: "workload" for recorded data
// (the mask its manifest or file states), "default" for generated data (off).
struct CausalMask {
  bool on = false;
  std::string source;
};
CausalMask ResolveCausalMask(const Workload& w, std::optional<bool> flag);

struct BenchResult {
  MachineFacts facts;
  CausalMask causal;
  std::vector<ResultRow> rows;
  bool cold = false;
  double cold_bytes = 0;   // bytes evicted before each sample (K, V, q, out, backend buffers)
  size_t rounds = 0;       // samples per backend
  double sampling_s = 0;   // seconds of rounds
  bool converged = false;  // the interval rule stopped sampling (else the budget or the floor)
  std::vector<std::string> notes;  // one line each (HSR: index build, threshold sample, ...)
};

// Throws hsr::Error on invalid input (validated before anything is timed).
BenchResult RunBench(const Workload& w, const BenchConfig& config);

}  // namespace hsr::sim
