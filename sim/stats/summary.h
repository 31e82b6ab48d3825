// Summaries of repeated samples (timings, bandwidth passes): percentiles, median, mean (gemma
// ops/bench_matmul.cc style).
#pragma once

#include <cstddef>
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

}  // namespace hsr::sim
