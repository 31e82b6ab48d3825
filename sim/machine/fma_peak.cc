// Highway dispatch unit (skeleton.cc pattern): the FMA peak probe, see fma_peak.h.
#include "sim/machine/fma_peak.h"

#include <algorithm>
#include <vector>

#include "core/base/thread_pool.h"
#include "sim/machine/timing.h"
#include "sim/stats/summary.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "sim/machine/fma_peak.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace hsr {
namespace sim {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// 12 independent MulAdd chains for `iters` steps; returns lanes per vector (flops = 2 * 12 *
// lanes * iters) and writes a value that depends on every chain to *sink.
size_t FmaChains(size_t iters, float seed, float* sink) {
  const hn::ScalableTag<float> df;
  const auto m = hn::Set(df, 0.999999f), c = hn::Set(df, 1e-7f);
  auto a0 = hn::Set(df, seed), a1 = hn::Set(df, seed + 0.01f), a2 = hn::Set(df, seed + 0.02f);
  auto a3 = hn::Set(df, seed + 0.03f), a4 = hn::Set(df, seed + 0.04f), a5 = hn::Set(df, seed + 0.05f);
  auto a6 = hn::Set(df, seed + 0.06f), a7 = hn::Set(df, seed + 0.07f), a8 = hn::Set(df, seed + 0.08f);
  auto a9 = hn::Set(df, seed + 0.09f), a10 = hn::Set(df, seed + 0.10f), a11 = hn::Set(df, seed + 0.11f);
  for (size_t i = 0; i < iters; ++i) {
    a0 = hn::MulAdd(a0, m, c);
    a1 = hn::MulAdd(a1, m, c);
    a2 = hn::MulAdd(a2, m, c);
    a3 = hn::MulAdd(a3, m, c);
    a4 = hn::MulAdd(a4, m, c);
    a5 = hn::MulAdd(a5, m, c);
    a6 = hn::MulAdd(a6, m, c);
    a7 = hn::MulAdd(a7, m, c);
    a8 = hn::MulAdd(a8, m, c);
    a9 = hn::MulAdd(a9, m, c);
    a10 = hn::MulAdd(a10, m, c);
    a11 = hn::MulAdd(a11, m, c);
  }
  const auto s = hn::Add(hn::Add(hn::Add(hn::Add(a0, a1), hn::Add(a2, a3)),
                                 hn::Add(hn::Add(a4, a5), hn::Add(a6, a7))),
                         hn::Add(hn::Add(a8, a9), hn::Add(a10, a11)));
  *sink = hn::GetLane(hn::SumOfLanes(df, s));
  return hn::Lanes(df);
}

}  // namespace HWY_NAMESPACE
}  // namespace sim
}  // namespace hsr
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace hsr {
namespace sim {

HWY_EXPORT(FmaChains);

FmaPeak MeasureFmaPeak(size_t threads, size_t passes) {
  threads = std::max<size_t>(threads, 1);
  passes = std::max<size_t>(passes, 1);
  constexpr size_t kIters = size_t{1} << 21;  // ~13-25 ms per pass at AVX2 widths
  ThreadPool pool(threads);
  std::vector<float> sinks(threads);
  std::vector<size_t> lanes(threads);
  std::vector<double> gflops;
  for (size_t pass = 0; pass < passes + 1; ++pass) {  // pass 0 warms up (clocks, pages)
    const double t0 = NowMicros();
    pool.Run(threads, [&](size_t t, size_t) {
      lanes[t] = HWY_DYNAMIC_DISPATCH(FmaChains)(kIters, 1.0f + static_cast<float>(t + pass),
                                                 &sinks[t]);
    });
    const double us = NowMicros() - t0;
    double flops = 0;
    for (size_t t = 0; t < threads; ++t) flops += 2.0 * 12.0 * static_cast<double>(lanes[t]) * kIters;
    if (pass > 0) gflops.push_back(flops / (us * 1e3));
  }
  volatile float sink = 0;
  for (float s : sinks) sink = sink + s;
  const Summary s = Summarize(gflops);
  return FmaPeak{s.max, s.median, threads, passes};
}

}  // namespace sim
}  // namespace hsr
#endif  // HWY_ONCE
