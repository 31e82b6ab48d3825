// Summaries of repeated samples (timings, bandwidth passes): percentiles, median, mean (gemma
// ops/bench_matmul.cc style).
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace hsr::sim {

// Percentile p in [0, 100] with linear interpolation between closest ranks (NumPy's default):
// rank = p / 100 * (count - 1). sorted must be ascending and non-empty.
double PercentileOfSorted(std::span<const double> sorted, double p);

struct Summary {
  size_t count = 0;
  double median = 0, p10 = 0, p90 = 0, min = 0, max = 0, mean = 0;
};

// Throws hsr::Error on an empty sample set.
Summary Summarize(std::vector<double> samples);

}  // namespace hsr::sim
