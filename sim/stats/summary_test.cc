// Quantiles and summaries with known answers (sorted[floor(q * count)], summary.h).
#include "sim/stats/summary.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <vector>

#include "core/base/error.h"

namespace hsr::sim {
namespace {

TEST(SummaryTest, QuantilesOfOneToTen) {
  // sorted[floor(q * 10)]: p10 -> index 1 -> 2, median -> index 5 -> 6, p90 -> index 9 -> 10.
  std::vector<double> x = {7, 3, 10, 1, 5, 9, 2, 8, 4, 6};  // unsorted on purpose
  const Summary s = Summarize(x);
  EXPECT_EQ(s.count, 10u);
  EXPECT_DOUBLE_EQ(s.median, 6);
  EXPECT_DOUBLE_EQ(s.p10, 2);
  EXPECT_DOUBLE_EQ(s.p90, 10);
  EXPECT_DOUBLE_EQ(s.min, 1);
  EXPECT_DOUBLE_EQ(s.max, 10);
  EXPECT_DOUBLE_EQ(s.mean, 5.5);
  EXPECT_DOUBLE_EQ(Quantile(x, 0.99), 10);  // index floor(9.9) = 9
  EXPECT_DOUBLE_EQ(Quantile(x, 0.05), 1);   // index floor(0.5) = 0
}

TEST(SummaryTest, OddCountMedianIsMiddle) {
  const Summary s = Summarize({30, 10, 20});
  EXPECT_DOUBLE_EQ(s.median, 20);
  EXPECT_DOUBLE_EQ(s.p10, 10);  // index floor(0.3) = 0
  EXPECT_DOUBLE_EQ(s.p90, 30);  // index floor(2.7) = 2
}

TEST(SummaryTest, SingleSample) {
  const Summary s = Summarize({42});
  EXPECT_DOUBLE_EQ(s.median, 42);
  EXPECT_DOUBLE_EQ(s.p10, 42);
  EXPECT_DOUBLE_EQ(s.p90, 42);
}

TEST(SummaryTest, QuantileEndsAndObservedValues) {
  const std::vector<double> sorted = {1, 2, 4};
  EXPECT_DOUBLE_EQ(QuantileOfSorted(sorted, 0), 1);
  EXPECT_DOUBLE_EQ(QuantileOfSorted(sorted, 1), 4);  // index 3 clamped to the last
  EXPECT_DOUBLE_EQ(QuantileOfSorted(sorted, 0.75), 4);
  EXPECT_DOUBLE_EQ(QuantileOfSorted(sorted, 0.5), 2);
  // A gap is never averaged across: the median of {5, 5, 64, 64} is an observed 64.
  EXPECT_DOUBLE_EQ(Quantile({64, 5, 64, 5}, 0.5), 64);
}

TEST(SummaryTest, EmptyAndOutOfRangeThrow) {
  EXPECT_THROW(Summarize({}), Error);
  EXPECT_THROW(Quantile({}, 0.5), Error);
  const std::vector<double> one = {1};
  EXPECT_THROW(QuantileOfSorted(one, 1.01), Error);
  EXPECT_THROW(QuantileOfSorted(one, -0.01), Error);
}

// The order-statistic interval's rank and exact coverage, by hand: n = 6 -> k = 1, coverage
// 1 - 2 / 2^6 = 0.96875; n = 5 -> none (1 - 2 / 2^5 = 0.9375 < 0.95); n = 10 -> k = 2,
// P(B <= 1) = 11 / 1024, coverage 1 - 22 / 1024.
TEST(MedianIntervalTest, RanksAndCoverageByHand) {
  EXPECT_EQ(MedianIntervalRank(5, 0.95), 0u);
  EXPECT_EQ(MedianIntervalRank(6, 0.95), 1u);
  EXPECT_DOUBLE_EQ(MedianIntervalCoverage(6, 1), 1.0 - 2.0 / 64.0);
  EXPECT_EQ(MedianIntervalRank(10, 0.95), 2u);
  EXPECT_NEAR(MedianIntervalCoverage(10, 2), 1.0 - 22.0 / 1024.0, 1e-12);
  // k is the largest rank that keeps the coverage >= the level.
  for (size_t n : {6, 7, 20, 51, 200, 1001}) {
    const size_t k = MedianIntervalRank(n, 0.95);
    ASSERT_GE(k, 1u) << n;
    EXPECT_GE(MedianIntervalCoverage(n, k), 0.95) << n;
    if (2 * (k + 1) <= n + 1) {
      EXPECT_LT(MedianIntervalCoverage(n, k + 1), 0.95) << n;
    }
  }
  EXPECT_FALSE(MedianConfidence({1, 2, 3, 4, 5}, 0.95).has_value());
  const auto m = MedianConfidence({7, 3, 10, 1, 5, 9, 2, 8, 4, 6}, 0.95);
  ASSERT_TRUE(m.has_value());
  EXPECT_DOUBLE_EQ(m->median, 6);  // QuantileOfSorted's upper middle
  EXPECT_DOUBLE_EQ(m->lo, 2);      // x(2)
  EXPECT_DOUBLE_EQ(m->hi, 9);      // x(9)
  EXPECT_THROW(MedianConfidence({1, 2}, 1.0), Error);
  EXPECT_THROW(MedianConfidence({1, 2}, 0.0), Error);
  EXPECT_THROW(MedianConfidence({}, 0.95), Error);
}

// Coverage on synthetic samples of known medians (seeded, so the check is deterministic): over
// 1000 trials the share of intervals holding the true median must match the exact coverage p
// (>= 0.95) within 4 binomial standard deviations, sqrt(p (1 - p) / 1000) ~ 0.0066: a rule
// that ignored the ranks (say min..max, or median +- nothing) lands far outside that band.
TEST(MedianIntervalTest, CoverageMatchesOnKnownDistributions) {
  std::mt19937_64 rng(20261204);
  std::normal_distribution<double> normal(3.0, 2.0);          // median 3
  std::lognormal_distribution<double> lognormal(0.0, 1.0);    // median 1
  std::exponential_distribution<double> expo(2.0);             // median ln 2 / 2
  const struct {
    const char* name;
    double median;
    std::function<double()> draw;
  } dists[] = {{"normal", 3.0, [&] { return normal(rng); }},
               {"lognormal", 1.0, [&] { return lognormal(rng); }},
               {"exponential", std::log(2.0) / 2.0, [&] { return expo(rng); }}};
  constexpr int kTrials = 1000;
  for (const auto& dist : dists) {
    for (size_t n : {6, 11, 30, 101}) {
      const double p = MedianIntervalCoverage(n, MedianIntervalRank(n, 0.95));
      int covered = 0;
      for (int t = 0; t < kTrials; ++t) {
        std::vector<double> x(n);
        for (double& v : x) v = dist.draw();
        const auto m = MedianConfidence(x, 0.95);
        ASSERT_TRUE(m.has_value());
        covered += m->lo <= dist.median && dist.median <= m->hi;
      }
      const double sigma = std::sqrt(p * (1 - p) / kTrials);
      EXPECT_NEAR(covered / static_cast<double>(kTrials), p, 4 * sigma)
          << dist.name << " n=" << n << " exact coverage " << p;
    }
  }
}

}  // namespace
}  // namespace hsr::sim
