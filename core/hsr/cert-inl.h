// Per-target kernel of the sketch softmax certificate (core/hsr/softmax_cert.h): buckets the
// per-key score bounds by their distance below the largest bound, with exp of each bound summed
// per bucket. Include inside a Highway dispatch unit after hwy/highway.h (gather-inl.h pattern).
// Test: verify/tests/cert_props.cc.

#if defined(HSR_CORE_HSR_CERT_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef HSR_CORE_HSR_CERT_INL_H_
#undef HSR_CORE_HSR_CERT_INL_H_
#else
#define HSR_CORE_HSR_CERT_INL_H_
#endif

#include <stddef.h>
#include <stdint.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/hsr/softmax_cert.h"
#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace hsr {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// For j < n (every ub[j] <= U, none NaN): x = fl(ub[j] - U),
//   bucket[j] = trunc(min(-x * kCertBucketsPerNat, kCertBuckets)),
//   sums[bucket[j]] += Exp(max(x, kCertExpFloor)), counts[bucket[j]] += 1.
// sums / counts have kCertBuckets + 1 entries and are added to (not cleared).
HWY_INLINE void BoundBucketsImpl(const float* HWY_RESTRICT ub, size_t n, float U,
                                 uint16_t* HWY_RESTRICT bucket, double* HWY_RESTRICT sums,
                                 uint32_t* HWY_RESTRICT counts) {
  const hn::ScalableTag<float> df;
  const hn::RebindToSigned<decltype(df)> di;
  const size_t N = hn::Lanes(df);
  const auto uv = hn::Set(df, U);
  const auto per = hn::Set(df, static_cast<float>(kCertBucketsPerNat));
  const auto top = hn::Set(df, static_cast<float>(kCertBuckets));
  const auto lo = hn::Set(df, kCertExpFloor);
  constexpr size_t kChunk = 256;
  HWY_ALIGN int32_t idx[kChunk];
  HWY_ALIGN float e[kChunk];
  for (size_t j0 = 0; j0 < n; j0 += kChunk) {
    const size_t count = std::min(kChunk, n - j0);
    size_t i = 0;
    for (; i + N <= count; i += N) {
      const auto x = hn::Sub(hn::LoadU(df, ub + j0 + i), uv);
      const auto y = hn::Min(hn::Mul(hn::Neg(x), per), top);
      hn::Store(hn::ConvertTo(di, y), di, idx + i);
      hn::Store(hn::Exp(df, hn::Max(x, lo)), df, e + i);
    }
    for (; i < count; ++i) {
      const float x = ub[j0 + i] - U;
      const float y = std::min(-x * static_cast<float>(kCertBucketsPerNat),
                               static_cast<float>(kCertBuckets));
      idx[i] = static_cast<int32_t>(y);
      e[i] = static_cast<float>(std::exp(static_cast<double>(std::max(x, kCertExpFloor))));
    }
    for (i = 0; i < count; ++i) {
      const int32_t k = idx[i];
      bucket[j0 + i] = static_cast<uint16_t>(k);
      sums[k] += static_cast<double>(e[i]);
      counts[k] += 1;
    }
  }
}

// Appends to ids every j in [0, n) with lo <= bucket[j] < hi (ascending) and returns the max of
// ub[j] over the keys with bucket[j] >= hi (-Inf if none, or when ub is null). Vector compares
// over the buckets; the rare selected lanes are extracted one by one (measured against scalar
// loops, err=1e-3 decode of a fitted d = 64 head at n = 2^20, 2 threads: hsr-cpu 12.6-13.6 ->
// 7.4-8.0 ms).
HWY_INLINE float SelectBucketsImpl(const uint16_t* HWY_RESTRICT bucket,
                                   const float* HWY_RESTRICT ub, size_t n, uint32_t lo,
                                   uint32_t hi, std::vector<uint32_t>* ids) {
  const hn::ScalableTag<float> df;
  const hn::RebindToSigned<decltype(df)> di;
  const hn::RebindToUnsigned<decltype(df)> du;
  const hn::Rebind<uint16_t, decltype(df)> d16;
  const size_t N = hn::Lanes(df);
  const float neg_inf = -std::numeric_limits<float>::infinity();
  const auto lov = hn::Set(di, static_cast<int32_t>(lo));
  const auto hiv = hn::Set(di, static_cast<int32_t>(hi));
  auto mx = hn::Set(df, neg_inf);
  size_t j = 0;
  for (; j + N <= n; j += N) {
    const auto b = hn::BitCast(di, hn::PromoteTo(du, hn::LoadU(d16, bucket + j)));
    const auto above = hn::Not(hn::Lt(b, hiv));
    if (ub) {
      mx = hn::Max(mx, hn::IfThenElse(hn::RebindMask(df, above), hn::LoadU(df, ub + j),
                                      hn::Set(df, neg_inf)));
    }
    if (!hn::AllFalse(di, hn::AndNot(above, hn::Not(hn::Lt(b, lov))))) {
      for (size_t i = j; i < j + N; ++i) {
        if (bucket[i] >= lo && bucket[i] < hi) ids->push_back(static_cast<uint32_t>(i));
      }
    }
  }
  float m = hn::GetLane(hn::MaxOfLanes(df, mx));
  for (; j < n; ++j) {
    if (bucket[j] >= hi) {
      if (ub) m = std::max(m, ub[j]);
    } else if (bucket[j] >= lo) {
      ids->push_back(static_cast<uint32_t>(j));
    }
  }
  return m;
}

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace hsr
HWY_AFTER_NAMESPACE();

#endif  // HSR_CORE_HSR_CERT_INL_H_
