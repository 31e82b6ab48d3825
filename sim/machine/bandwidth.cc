// Highway dispatch unit (hwy/examples/skeleton.cc pattern, Highway 1.0.3): re-includes itself
// once per compiled target through foreach_target.h.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "sim/machine/bandwidth.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace hsr {
namespace sim {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Sum of p[0, count): four independent accumulators keep several loads in flight.
float SumFloats(const float* HWY_RESTRICT p, size_t count) {
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df);
  auto a0 = hn::Zero(df), a1 = hn::Zero(df), a2 = hn::Zero(df), a3 = hn::Zero(df);
  size_t i = 0;
  for (; i + 4 * N <= count; i += 4 * N) {
    a0 = hn::Add(a0, hn::LoadU(df, p + i));
    a1 = hn::Add(a1, hn::LoadU(df, p + i + N));
    a2 = hn::Add(a2, hn::LoadU(df, p + i + 2 * N));
    a3 = hn::Add(a3, hn::LoadU(df, p + i + 3 * N));
  }
  for (; i + N <= count; i += N) a0 = hn::Add(a0, hn::LoadU(df, p + i));
  float s = hn::GetLane(hn::SumOfLanes(df, hn::Add(hn::Add(a0, a1), hn::Add(a2, a3))));
  for (; i < count; ++i) s += p[i];
  return s;
}

}  // namespace HWY_NAMESPACE
}  // namespace sim
}  // namespace hsr
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/base/cache_info.h"
#include "core/base/huge_pages.h"
#include "core/base/thread_pool.h"
#include "hwy/aligned_allocator.h"
#include "sim/machine/bandwidth.h"
#include "sim/machine/timing.h"
#include "sim/stats/summary.h"

namespace hsr {
namespace sim {

HWY_EXPORT(SumFloats);

size_t PhysicalMemoryBytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<size_t>(pages) * static_cast<size_t>(page) : 0;
}

float StreamRead(std::span<const float> data) {
  return HWY_DYNAMIC_DISPATCH(SumFloats)(data.data(), data.size());
}

ReadBandwidth MeasureReadBandwidth(size_t threads, size_t bytes, size_t passes) {
  threads = std::max<size_t>(threads, 1);
  passes = std::max<size_t>(passes, 1);
  if (bytes == 0) {
    bytes = std::max<size_t>(size_t{256} << 20, 8 * LastLevelCacheBytes());
    const size_t mem = PhysicalMemoryBytes();
    if (mem != 0) bytes = std::min(bytes, mem / 8);
  }
  // One chunk per thread, each a multiple of 64 floats (4 KiB-aligned starts via the allocator).
  const size_t floats = std::max<size_t>(bytes / sizeof(float) / 1024 * 1024, 1024);
  auto buf = hwy::AllocateAligned<float>(floats);
  AdviseHugePages(buf.get(), floats * sizeof(float));  // as the K/V tensors it is compared with
  const size_t chunk = (floats / threads + 1023) / 1024 * 1024;
  ThreadPool pool(threads);
  auto range = [&](size_t t) {
    const size_t begin = std::min(floats, t * chunk);
    return std::pair<size_t, size_t>(begin, std::min(floats, begin + chunk));
  };
  pool.Run(threads, [&](size_t t, size_t) {  // first touch by the thread that will read
    const auto [b, e] = range(t);
    for (size_t i = b; i < e; ++i) buf[i] = static_cast<float>(i & 7) * 0.125f;
  });
  std::vector<float> sums(threads);
  std::vector<double> gbs;
  for (size_t pass = 0; pass < passes + 1; ++pass) {
    const double t0 = NowMicros();
    pool.Run(threads, [&](size_t t, size_t) {
      const auto [b, e] = range(t);
      sums[t] += HWY_DYNAMIC_DISPATCH(SumFloats)(buf.get() + b, e - b);
    });
    const double us = NowMicros() - t0;
    if (pass > 0) gbs.push_back(static_cast<double>(floats * sizeof(float)) / (us * 1e3));
  }
  volatile float sink = 0;
  for (float s : sums) sink = sink + s;
  const Summary s = Summarize(gbs);
  return ReadBandwidth{s.median, s.p10, s.p90, floats * sizeof(float), threads, passes};
}

}  // namespace sim
}  // namespace hsr
#endif  // HWY_ONCE
