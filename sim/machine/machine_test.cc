// The machine probes: the FMA peak's passes (its speed is not asserted: the machine is shared;
// speed lives in `hsr bench`), and cache eviction (cold reads are slower than warm ones).
#include "sim/machine/fma_peak.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "sim/machine/bandwidth.h"
#include "sim/machine/cache_evict.h"
#include "sim/machine/timing.h"
#include "sim/stats/summary.h"

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

// A 4 MiB buffer (far below any last-level cache of this machine class: 32-480 MiB) read right
// after EvictFromCaches must come from DRAM, so it is slower than the same read right after a
// read (from L2/L3). Not a speed goal: a comparison of the same read, flushed vs not, in
// alternation, so a noisy neighbour slows both. Measured on the Zen 4 VM: cold 116 us vs warm
// 49 us (ratio 2.3; DRAM ~36 GB/s against ~85 GB/s from L2/L3 on one core). The check asks for
// 1.25x, which a cache-resident "cold" read (eviction not working: ratio ~1.0) cannot reach and
// which leaves room for a loaded host; medians of 41 pairs so single descheduled reads do not
// decide it.
TEST(CacheEvictTest, ReadAfterEvictionIsSlowerThanAWarmRead) {
  const std::string how = EvictInstruction();
  if (how == "none") GTEST_SKIP() << "no cache flush instruction on this architecture";
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "ASan instruments every load: the read measures the instrumentation";
#endif
  std::vector<float> buf((size_t{4} << 20) / sizeof(float), 1.0f);
  const std::span<const std::byte> bytes = std::as_bytes(std::span<const float>(buf));
  volatile float sink = StreamRead(buf);
  std::vector<double> cold, warm;
  for (int r = 0; r < 41; ++r) {
    EvictFromCaches({&bytes, 1});
    double t0 = NowMicros();
    sink = sink + StreamRead(buf);
    cold.push_back(NowMicros() - t0);
    t0 = NowMicros();
    sink = sink + StreamRead(buf);
    warm.push_back(NowMicros() - t0);
  }
  const double c = Quantile(cold, 0.5), w = Quantile(warm, 0.5);
  EXPECT_GT(c, 1.25 * w) << how << ": cold median " << c << " us, warm median " << w << " us";
}

}  // namespace
}  // namespace hsr::sim
