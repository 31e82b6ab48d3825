// Quantiles and summaries with known answers (sorted[floor(q * count)], summary.h).
#include "sim/stats/summary.h"

#include <gtest/gtest.h>

#include <cmath>
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

}  // namespace
}  // namespace hsr::sim
