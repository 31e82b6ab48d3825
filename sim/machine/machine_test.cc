// The machine probes: the FMA peak's passes (its speed is not asserted: the machine is shared;
// speed lives in `hsr bench`).
#include "sim/machine/fma_peak.h"

#include <gtest/gtest.h>

#include <cmath>

namespace hsr::sim {
namespace {

// The FMA probe: finite, positive, best pass >= median, arguments clamped.
TEST(FmaPeakTest, BestPassIsAtLeastTheMedianAndFinite) {
  const FmaPeak one = MeasureFmaPeak(1, 3);
  EXPECT_EQ(one.threads, 1u);
  EXPECT_EQ(one.passes, 3u);
  EXPECT_TRUE(std::isfinite(one.gflops));
  EXPECT_GT(one.median_gflops, 0.0);
  EXPECT_GE(one.gflops, one.median_gflops);
  const FmaPeak zero = MeasureFmaPeak(0, 0);  // clamped to 1 thread, 1 pass
  EXPECT_EQ(zero.threads, 1u);
  EXPECT_EQ(zero.passes, 1u);
  EXPECT_EQ(zero.gflops, zero.median_gflops);
}

}  // namespace
}  // namespace hsr::sim
