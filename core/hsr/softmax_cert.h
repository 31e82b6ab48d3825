// Softmax certificates from per-key score bounds (docs/design.md §1-2).
//
// The tau certificate bounds every dropped key by the threshold:
//     eps_tau = r e^(tau - M) / (Z_S + r e^(tau - M)),  r = dropped keys.
// An index with per-key bounds ub_j >= s_j (sketch8) bounds each dropped key by its own bound:
//     eps_sketch = D / (Z_S + D),  D = sum over dropped j of e^(ub_j - M)  (>= true dropped mass)
// With a threshold report S = R(q, tau), a dropped key's bound is min(ub_j, tau) (its score is
// <= tau), so eps_sketch <= eps_tau; the index sums the tail in the pass that reads the sketch
// (HalfSpaceIndex::QueryPrefixTail; sketch8.cc proves its rounding margin).
//
// err=E (SelectBySketch): keys are taken in order of their bound until eps_sketch <= E. One
// pass computes every bound (KeyBounds); the bounds are bucketed by U - ub_j (U = max ub) in
// steps of 1 / kCertBucketsPerNat nats, with e^(ub_j - U) summed per bucket (cert-inl.h). Round 0
// takes the buckets a bound-only estimate of Z_S asks for, rechecks them exactly (ScoreRun) and
// computes Z_S; round 1 takes the fewest further buckets with D <= E / (1 - E) Z_S (Z_S only
// grows as keys are added, so the final eps_sketch <= E), rechecking the new keys. If that needs
// more than kCertMaxKeptFrac of the visible keys the row is answered dense (a counted fallback).
//
// Rounding (D must never be below the sum of e^(ub_j + tiny - U) over the dropped keys):
// x = fl(ub_j - U) is off by <= u |x| <= 80 u for x >= kCertExpFloor (clamping only raises the
// value), Highway's Exp is within 1 ulp, bucket sums are float terms added in double
// (n 2^-53 relative), and e^tiny - 1 < 2^-60: a relative shortfall < 2^-20; D carries 2^-14.
// Z_S = sum over S of e^(s_j - U) in double (std::exp, relative 2^-50) is used as Z_S (1 - 2^-40).
// Test: verify/tests/cert_props.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/hsr/sparse_kernels.h"
#include "core/index/half_space_index.h"

namespace hsr {

class ThreadPool;

inline constexpr int kCertBucketsPerNat = 16;
inline constexpr int kCertBuckets = 512;  // 32 nats; bucket kCertBuckets holds everything below
inline constexpr float kCertExpFloor = -80.0f;
inline constexpr double kCertTailMargin = 1.0 + 0x1p-14;
// err=E answers dense when more than this fraction of the visible keys would be read: a kept key
// costs a scattered K row recheck and V row gather, several times a streamed dense key
// (hsr bench decode, fitted layer-3 heads, n = 2^18, d = 64, 1 thread: 2.4% of the keys read
// -> 1.9-2.3x faster than dense-hwy, 20% -> 0.76x, 25% -> 0.70x; a dense fallback decided after
// the bound pass costs ~1.15x dense, so the break-even is ~15%).
inline constexpr double kCertMaxKeptFrac = 0.15;

// eps = tail / (Z + tail) (0 when tail = 0), both relative to the same reference.
double CertEps(double tail, double z);

// Reusable buffers of SelectBySketch (one per worker thread).
struct CertScratch {
  std::vector<float> ub;
  std::vector<uint16_t> bucket;
  std::vector<double> sums, suffix, block_sums;
  std::vector<uint32_t> counts, block_counts;
  std::vector<float> more_scores;
  std::vector<uint32_t> more_ids;
};

struct SketchSelection {
  enum class Status { kUnsupported, kSelected, kFallback };
  Status status = Status::kUnsupported;
  double eps_sketch = 0.0;  // certificate of the selected set (<= E when kSelected)
  double eps_tau = 0.0;     // tau certificate of the same set, tau = max dropped bound + tiny
  float tau = 0.0f;         // that tau (largest dropped bound; -Inf when nothing is dropped)
  double m = 0.0;           // max exact score over the set
  int rounds = 0;           // recheck rounds (1 or 2)
};

// err=E row over keys [0, visible) of index (whose float32 keys are k, stride d): on kSelected
// ids / scores hold the set and its ScoreRun scores (the keys read from K); st gets the index's
// counters. kUnsupported: the index has no trusted per-key bounds
// for q (use the tau path); kFallback: more than kCertMaxKeptFrac of the keys would be needed
// (answer dense). The bucketing runs in blocks of kCertBucketTask keys, spread over pool when
// it has more than one thread (may be null); the blocks and their merge order do not depend on
// the thread count, so neither does the result.
inline constexpr size_t kCertBucketTask = size_t{1} << 16;
SketchSelection SelectBySketch(const SparseKernels& kern, const HalfSpaceIndex& index,
                               const float* q, const float* k, size_t d, float scale,
                               size_t visible, double target, CertScratch* sc,
                               std::vector<uint32_t>* ids, std::vector<float>* scores,
                               IndexStats* st, ThreadPool* pool = nullptr);

}  // namespace hsr
