// Paired, interleaved timing of the backends of one benchmark point (sim/bench/bench.h).
//
// Rounds: in each round every unit (a backend of the point) takes one sample, in the order
// given (A B C A B C ...), so a noisy second of the machine hits all of them, and sample r of
// A and sample r of B form a pair. A speedup is the median over rounds of the per-pair ratio
// baseline_r / unit_r, with the order-statistic confidence interval of that median
// (MedianConfidence, sim/stats/summary.h: exact and distribution-free, no resampling).
// Stop rule, checked after each round once `min_rounds` rounds are done (the floor always
// holds): stop when every interval (each speedup's; without speedup pairs, each unit's time
// median) has a half-width <= ci_width x its median (converged) and the rounds have lasted
// min_seconds (or budget_s if less), or when the elapsed time of the rounds reaches budget_s
// (then the intervals are as wide as they came out), or at max_rounds. min_seconds keeps a
// point's samples from all falling into one burst of load on a shared machine (the intervals
// assume samples independent of each other; a 50 ms burst can cover 20 rounds at n = 2^14:
// measured on the 2-core VM, a dense-hwy median 6x its p10 in such a point). Intervals are recomputed when the round count has grown by 10% (and at the floor),
// so checking stays O(rounds log^2 rounds).
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "sim/stats/summary.h"

namespace hsr::sim {

struct SamplingRule {
  size_t min_rounds = 10;   // --repeats: the floor
  double budget_s = 3.0;    // --budget: seconds of rounds after which sampling stops
  double ci_width = 0.05;   // --ci-width: target half-width / median of every interval
  double min_seconds = 0.25;  // rounds last at least this long (or the budget) before stopping
  double level = 0.95;      // confidence level of the intervals
  size_t max_rounds = size_t{1} << 20;
};

// Throws hsr::Error "--budget: expected seconds > 0, got 0" and the like.
void CheckSamplingRule(const SamplingRule& rule);

struct PairedSamples {
  std::vector<std::vector<double>> samples;  // [unit][round], what each sample returned
  size_t rounds = 0;
  double seconds = 0;       // elapsed over the rounds
  bool converged = false;   // stopped by the interval rule (else budget, floor or max_rounds)
};

// A (unit, baseline) pair: the speedup of `unit` is samples[baseline][r] / samples[unit][r].
using SpeedupPair = std::pair<size_t, size_t>;

// Per-round ratios samples[baseline][r] / samples[unit][r].
std::vector<double> PairRatios(const PairedSamples& s, const SpeedupPair& pair);

// The interval of each pair's ratio median (or, without pairs, of each unit's median); nullopt
// entries where there are too few rounds for the level.
std::vector<std::optional<MedianInterval>> StopIntervals(const PairedSamples& s,
                                                         std::span<const SpeedupPair> pairs,
                                                         double level);
// True when every interval exists and has half-width <= width x |median|.
bool IntervalsNarrow(std::span<const std::optional<MedianInterval>> intervals, double width);

// Runs rounds of sample[0](), sample[1](), ... (each returns one sample, e.g. microseconds per
// call) under the rule; now_s is the clock the budget is measured on (seconds). progress (may be
// empty) is called after each round with the rounds done.
PairedSamples SamplePaired(std::span<const std::function<double()>> sample,
                           std::span<const SpeedupPair> pairs, const SamplingRule& rule,
                           const std::function<double()>& now_s,
                           const std::function<void(size_t)>& progress = {});

}  // namespace hsr::sim
