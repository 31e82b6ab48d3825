// One benchmark point from flag-style settings: the one place that turns the knobs of
// `hsr bench decode|prefill` (and of every `hsr sweep` point) into a workload spec and a
// BenchConfig, so a bench run and a sweep point with the same settings validate and run alike.
//
// Settings are strings keyed by the flag name without dashes (n, d, dv, m, heads, kv-heads, seed,
// workload, attention, alpha, b, scale, threshold, index, threads, repeats, budget, ci-width,
// target, backend, cold, causal: on | off); a
// missing key takes the flag's default. Errors name the flag: "--alpha: expected an integer
// alpha >= 1 (at most 16), got 0". Nothing is generated or timed here.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sim/bench/bench.h"
#include "sim/bench/flag_values.h"
#include "sim/workload/workload.h"

namespace hsr::sim {

using PointSettings = std::map<std::string, std::string>;

struct PointConfig {
  WorkloadSpec spec;   // --workload with the size flags (n, d, ...) set as keys
  BenchConfig bench;   // everything but progress and save_output_prefix
};

// prefill: `hsr bench prefill` semantics (m defaults to 256 for generated kinds). "causal" sets
// BenchConfig::causal (absent: the workload's own mask). Throws hsr::Error (one line, naming
// the flag).
PointConfig MakePointConfig(const PointSettings& settings, bool prefill);

}  // namespace hsr::sim
