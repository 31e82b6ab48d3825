// Summaries of repeated samples (timings, bandwidth passes): percentiles, median, mean (gemma
// ops/bench_matmul.cc style), and the confidence interval of a median.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <vector>

namespace hsr::sim {

// The q-quantile, q in [0, 1], of ascending non-empty samples: sorted[min(count - 1, floor(q *
// count))], the sample with floor(q * count) samples below it. Always an observed value (a key
// count stays a count, a bimodal set is not averaged across its gap); the median of an even count
// is the upper middle one. The one percentile rule of sim/: timing and bandwidth summaries,
// reported-key percentiles of result rows, inspect's score quantiles and per-head medians,
// report's median read bandwidth.
double QuantileOfSorted(std::span<const double> sorted, double q);
// The same for values in any order (sorted here); hsr::Error when empty.
double Quantile(std::vector<double> values, double q);

// Median, p10, p90 (QuantileOfSorted), min, max and mean of repeated samples.
struct Summary {
  size_t count = 0;
  double median = 0, p10 = 0, p90 = 0, min = 0, max = 0, mean = 0;
};

// Throws hsr::Error on an empty sample set.
Summary Summarize(std::vector<double> samples);

// Confidence interval of a median from order statistics (distribution-free, exact, no
// resampling, so deterministic). For n iid samples of a continuous distribution with median
// M, sorted x(1) <= ... <= x(n), the count below M is B ~ Binomial(n, 1/2), so
//   P(x(k) <= M <= x(n+1-k)) = P(k <= B <= n - k) = 1 - 2 P(B <= k - 1).
// MedianIntervalRank(n, level) is the largest k >= 1 whose coverage 1 - 2 P(B <= k - 1) is
// >= level (conservative: the coverage is at least level, never less); 0 when even k = 1 falls
// short (n < 6 at 95%: 1 - 2^(1-n) < 0.95).
size_t MedianIntervalRank(size_t n, double level);
// 1 - 2 P(B <= k - 1) for B ~ Binomial(n, 1/2), 1 <= k <= (n + 1) / 2.
double MedianIntervalCoverage(size_t n, size_t k);

struct MedianInterval {
  double median = 0;    // QuantileOfSorted(sorted, 0.5)
  double lo = 0, hi = 0;  // x(k), x(n+1-k)
  double coverage = 0;    // MedianIntervalCoverage(n, k) >= level
  size_t samples = 0;
  double HalfWidth() const { return 0.5 * (hi - lo); }
};

// The interval above, or nullopt when n is too small for `level` (0 < level < 1; hsr::Error
// otherwise, and on an empty sample set).
std::optional<MedianInterval> MedianConfidence(std::vector<double> samples, double level);

}  // namespace hsr::sim
