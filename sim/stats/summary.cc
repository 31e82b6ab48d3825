#include "sim/stats/summary.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/base/error.h"

namespace hsr::sim {

double QuantileOfSorted(std::span<const double> sorted, double q) {
  HSR_CHECK(!sorted.empty(), "quantile: expected at least one sample, got none");
  HSR_CHECK(q >= 0.0 && q <= 1.0, "quantile: expected q in [0, 1], got {}", q);
  const size_t at = static_cast<size_t>(q * static_cast<double>(sorted.size()));
  return sorted[std::min(sorted.size() - 1, at)];
}

double Quantile(std::vector<double> values, double q) {
  std::sort(values.begin(), values.end());
  return QuantileOfSorted(values, q);
}

Summary Summarize(std::vector<double> samples) {
  HSR_CHECK(!samples.empty(), "Summarize: expected at least one sample, got none");
  std::sort(samples.begin(), samples.end());
  Summary s;
  s.count = samples.size();
  s.median = QuantileOfSorted(samples, 0.5);
  s.p10 = QuantileOfSorted(samples, 0.1);
  s.p90 = QuantileOfSorted(samples, 0.9);
  s.min = samples.front();
  s.max = samples.back();
  s.mean = std::accumulate(samples.begin(), samples.end(), 0.0) / static_cast<double>(s.count);
  return s;
}

}  // namespace hsr::sim
