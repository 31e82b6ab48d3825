#include "sim/bench/sampling.h"

#include <algorithm>
#include <cmath>

#include "core/base/error.h"

namespace hsr::sim {

void CheckSamplingRule(const SamplingRule& rule) {
  HSR_CHECK(rule.min_rounds >= 1, "--repeats: expected an integer repeats >= 1, got {}",
            rule.min_rounds);
  HSR_CHECK(std::isfinite(rule.budget_s) && rule.budget_s > 0,
            "--budget: expected seconds > 0, got {}", rule.budget_s);
  HSR_CHECK(std::isfinite(rule.ci_width) && rule.ci_width > 0 && rule.ci_width < 1,
            "--ci-width: expected a relative half-width in (0, 1), got {}", rule.ci_width);
  HSR_CHECK(rule.min_seconds >= 0, "sampling: expected min_seconds >= 0, got {}",
            rule.min_seconds);
  HSR_CHECK(rule.level > 0 && rule.level < 1,
            "confidence level: expected a value in (0, 1), got {}", rule.level);
}

std::vector<double> PairRatios(const PairedSamples& s, const SpeedupPair& pair) {
  const auto& unit = s.samples.at(pair.first);
  const auto& base = s.samples.at(pair.second);
  std::vector<double> r(std::min(unit.size(), base.size()));
  for (size_t i = 0; i < r.size(); ++i) r[i] = base[i] / unit[i];
  return r;
}

std::vector<std::optional<MedianInterval>> StopIntervals(const PairedSamples& s,
                                                         std::span<const SpeedupPair> pairs,
                                                         double level) {
  std::vector<std::optional<MedianInterval>> out;
  if (s.rounds == 0) return out;
  if (pairs.empty()) {
    for (const auto& u : s.samples) out.push_back(MedianConfidence(u, level));
  } else {
    for (const auto& p : pairs) out.push_back(MedianConfidence(PairRatios(s, p), level));
  }
  return out;
}

bool IntervalsNarrow(std::span<const std::optional<MedianInterval>> intervals, double width) {
  if (intervals.empty()) return false;
  for (const auto& m : intervals) {
    if (!m || !(m->HalfWidth() <= width * std::fabs(m->median))) return false;
  }
  return true;
}

PairedSamples SamplePaired(std::span<const std::function<double()>> sample,
                           std::span<const SpeedupPair> pairs, const SamplingRule& rule,
                           const std::function<double()>& now_s,
                           const std::function<void(size_t)>& progress) {
  CheckSamplingRule(rule);
  HSR_CHECK(!sample.empty(), "sampling: expected at least one unit, got none");
  for (const auto& [unit, base] : pairs) {
    HSR_CHECK(unit < sample.size() && base < sample.size() && unit != base,
              "sampling: expected a pair of two units below {}, got ({}, {})", sample.size(),
              unit, base);
  }
  PairedSamples s;
  s.samples.resize(sample.size());
  const double t0 = now_s();
  size_t next_check = rule.min_rounds;
  while (s.rounds < rule.max_rounds) {
    for (size_t u = 0; u < sample.size(); ++u) s.samples[u].push_back(sample[u]());
    ++s.rounds;
    s.seconds = now_s() - t0;
    if (progress) progress(s.rounds);
    if (s.rounds < rule.min_rounds) continue;
    if (s.rounds >= next_check && s.seconds >= std::min(rule.min_seconds, rule.budget_s)) {
      next_check = std::max(s.rounds + 1, s.rounds + s.rounds / 10);
      if (IntervalsNarrow(StopIntervals(s, pairs, rule.level), rule.ci_width)) {
        s.converged = true;
        break;
      }
    }
    if (s.seconds >= rule.budget_s) {
      s.converged = IntervalsNarrow(StopIntervals(s, pairs, rule.level), rule.ci_width);
      break;
    }
  }
  return s;
}

}  // namespace hsr::sim
