#include "sim/stats/summary.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/base/error.h"

namespace hsr::sim {

double PercentileOfSorted(std::span<const double> sorted, double p) {
  HSR_CHECK(!sorted.empty(), "PercentileOfSorted: expected at least one sample, got none");
  HSR_CHECK(p >= 0.0 && p <= 100.0, "PercentileOfSorted: expected p in [0, 100], got {}", p);
  const double rank = p / 100.0 * static_cast<double>(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(rank));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  const double frac = rank - static_cast<double>(lo);
  return sorted[lo] + frac * (sorted[hi] - sorted[lo]);
}

Summary Summarize(std::vector<double> samples) {
  HSR_CHECK(!samples.empty(), "Summarize: expected at least one sample, got none");
  std::sort(samples.begin(), samples.end());
  Summary s;
  s.count = samples.size();
  s.median = PercentileOfSorted(samples, 50);
  s.p10 = PercentileOfSorted(samples, 10);
  s.p90 = PercentileOfSorted(samples, 90);
  s.min = samples.front();
  s.max = samples.back();
  s.mean = std::accumulate(samples.begin(), samples.end(), 0.0) / static_cast<double>(s.count);
  return s;
}

}  // namespace hsr::sim
