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

namespace {

// ln P(B = i) for B ~ Binomial(n, 1/2).
double LogBinomialHalf(size_t n, size_t i) {
  const double nn = static_cast<double>(n), ii = static_cast<double>(i);
  return std::lgamma(nn + 1) - std::lgamma(ii + 1) - std::lgamma(nn - ii + 1) - nn * std::log(2.0);
}

void CheckLevel(double level) {
  HSR_CHECK(level > 0.0 && level < 1.0, "confidence level: expected a value in (0, 1), got {}",
            level);
}

}  // namespace

size_t MedianIntervalRank(size_t n, double level) {
  CheckLevel(level);
  const double alpha_half = 0.5 * (1.0 - level);
  // P(B <= j) for j = 0, 1, ...: k - 1 is the largest j with P(B <= j) <= alpha / 2.
  double cdf = 0.0;
  size_t k = 0;
  for (size_t j = 0; 2 * j + 1 < n; ++j) {
    cdf += std::exp(LogBinomialHalf(n, j));
    if (cdf > alpha_half) break;
    k = j + 1;
  }
  return k;
}

double MedianIntervalCoverage(size_t n, size_t k) {
  HSR_CHECK(k >= 1 && 2 * k <= n + 1, "median interval: expected 1 <= k <= (n + 1) / 2, got k={} "
            "n={}", k, n);
  double cdf = 0.0;
  for (size_t j = 0; j < k; ++j) cdf += std::exp(LogBinomialHalf(n, j));  // P(B <= k - 1)
  return 1.0 - 2.0 * cdf;
}

std::optional<MedianInterval> MedianConfidence(std::vector<double> samples, double level) {
  HSR_CHECK(!samples.empty(), "median interval: expected at least one sample, got none");
  const size_t n = samples.size();
  const size_t k = MedianIntervalRank(n, level);
  if (k == 0) return std::nullopt;
  std::sort(samples.begin(), samples.end());
  MedianInterval m;
  m.median = QuantileOfSorted(samples, 0.5);
  m.lo = samples[k - 1];
  m.hi = samples[n - k];
  m.coverage = MedianIntervalCoverage(n, k);
  m.samples = n;
  return m;
}

}  // namespace hsr::sim
