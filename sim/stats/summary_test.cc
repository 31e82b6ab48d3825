// Percentiles and summaries with known answers (NumPy's linear interpolation).
#include "sim/stats/summary.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/base/error.h"

namespace hsr::sim {
namespace {

TEST(SummaryTest, PercentilesOfOneToTen) {
  // rank = p/100 * 9: p10 -> 0.9 -> 1.9, p50 -> 4.5 -> 5.5, p90 -> 8.1 -> 9.1.
  std::vector<double> x = {7, 3, 10, 1, 5, 9, 2, 8, 4, 6};  // unsorted on purpose
  const Summary s = Summarize(x);
  EXPECT_EQ(s.count, 10u);
  EXPECT_DOUBLE_EQ(s.median, 5.5);
  EXPECT_DOUBLE_EQ(s.p10, 1.9);
  EXPECT_DOUBLE_EQ(s.p90, 9.1);
  EXPECT_DOUBLE_EQ(s.min, 1);
  EXPECT_DOUBLE_EQ(s.max, 10);
  EXPECT_DOUBLE_EQ(s.mean, 5.5);
}

TEST(SummaryTest, OddCountMedianIsMiddle) {
  const Summary s = Summarize({30, 10, 20});
  EXPECT_DOUBLE_EQ(s.median, 20);
  EXPECT_DOUBLE_EQ(s.p10, 12);  // rank 0.2 between 10 and 20
  EXPECT_DOUBLE_EQ(s.p90, 28);  // rank 1.8 between 20 and 30
}

TEST(SummaryTest, SingleSample) {
  const Summary s = Summarize({42});
  EXPECT_DOUBLE_EQ(s.median, 42);
  EXPECT_DOUBLE_EQ(s.p10, 42);
  EXPECT_DOUBLE_EQ(s.p90, 42);
}

TEST(SummaryTest, PercentileEnds) {
  const std::vector<double> sorted = {1, 2, 4};
  EXPECT_DOUBLE_EQ(PercentileOfSorted(sorted, 0), 1);
  EXPECT_DOUBLE_EQ(PercentileOfSorted(sorted, 100), 4);
  EXPECT_DOUBLE_EQ(PercentileOfSorted(sorted, 75), 3);
}

TEST(SummaryTest, EmptyAndOutOfRangeThrow) {
  EXPECT_THROW(Summarize({}), Error);
  const std::vector<double> one = {1};
  EXPECT_THROW(PercentileOfSorted(one, 101), Error);
  EXPECT_THROW(PercentileOfSorted(one, -1), Error);
}

}  // namespace
}  // namespace hsr::sim
