// Per-target float32 score kernel: s_j = scale * <q, k_j> for a run of key rows.
//
// The one shared score kernel (docs/design.md §1): dense-hwy's decode path and the half-space
// index `scan` both call ScoreRun, so a key reported by an index has exactly the score dense
// attention used. Each key's dot is computed by the same sequence of operations whether it is
// scored alone or in a group of four, so a score never depends on the run it was part of:
//   two f32 vector accumulators over the full vectors of d (FMA; even vectors into the first,
//   odd into the second), their sum, SumOfLanes, then the d % lanes tail in scalar order, then
//   one multiply by scale.
// Reference: core/attention/dense_ref.cc (float64); test: core/attention/dense_hwy_test.cc.
//
// Include inside a Highway dispatch unit (after hwy/highway.h), as hwy/examples/skeleton-inl.h.

// Per-target include guard (toggled by foreach_target.h).
#if defined(HSR_CORE_ATTENTION_SCORE_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef HSR_CORE_ATTENTION_SCORE_INL_H_
#undef HSR_CORE_ATTENTION_SCORE_INL_H_
#else
#define HSR_CORE_ATTENTION_SCORE_INL_H_
#endif

#include <stddef.h>
#include <stdint.h>

#include "hwy/cache_control.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace hsr {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Scalar tail of a dot product: c in [begin, dim).
HWY_INLINE float DotTail(const float* HWY_RESTRICT q, const float* HWY_RESTRICT k, size_t begin,
                         size_t dim, float sum) {
  for (size_t c = begin; c < dim; ++c) sum += q[c] * k[c];
  return sum;
}

// LoadU of a row that streams from DRAM: on AVX3 / AVX3_DL as two 256-bit loads combined
// (the same values, so the same arithmetic after it). On Zen 4, 512-bit loads stream from DRAM
// more slowly than 256-bit ones: a standalone loop scoring 32 MiB of keys in row order, d = 64,
// cold, 1 thread: 256-bit vectors 923-964 us, 512-bit 1094-1154 us, 512-bit FMAs on two
// 256-bit loads 952-981 us (in L2 the three are within 10%).
template <class D>
HWY_INLINE hn::Vec<D> LoadStreamed(D df, const float* HWY_RESTRICT p) {
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  if constexpr (hn::MaxLanes(D()) == 16) {
    const hn::Full256<float> dh;
    return hn::Combine(df, hn::LoadU(dh, p + 8), hn::LoadU(dh, p));
  }
#endif
  return hn::LoadU(df, p);
}

// K loads of DotChains: LoadStreamed when kStreamed, else LoadU.
template <bool kStreamed, class D>
HWY_INLINE hn::Vec<D> LoadKey(D df, const float* HWY_RESTRICT p) {
  if constexpr (kStreamed) return LoadStreamed(df, p);
  return hn::LoadU(df, p);
}

// The two accumulators of each of kKeys keys (k, k + k_stride, ...) over the full vectors
// [0, full) of dim, summed: sums[r] is key r's vector a_r + b_r, where a_r takes the FMAs of
// the even vectors and b_r those of the odd ones. The one definition of a score's vector part:
// every key gets exactly this sequence of operations whatever kKeys is (more keys only share
// the loads of q: 2 kKeys independent FMA chains), so a score never depends on how many keys
// were computed with it. DotOne and ScoreRun reduce sums one key at a time; ScoreBlock
// (score_block-inl.h) reduces a block of keys' sums at once. kStreamed: K's loads are
// LoadStreamed (only how the values are loaded differs).
// DotChainsRows: the same over kKeys rows given by pointer (scattered ids, ScoreIds).
template <size_t kKeys, bool kStreamed = false, class D>
HWY_INLINE void DotChainsRows(D df, const float* HWY_RESTRICT q,
                              const float* const* HWY_RESTRICT rows, size_t full,
                              hn::Vec<D>* HWY_RESTRICT sums) {
  const size_t N = hn::Lanes(df);
  hn::Vec<D> a[kKeys], b[kKeys];
  HWY_UNROLL(4)
  for (size_t r = 0; r < kKeys; ++r) {
    a[r] = hn::Zero(df);
    b[r] = hn::Zero(df);
  }
  size_t c = 0;
  for (; c + 2 * N <= full; c += 2 * N) {
    const auto qa = hn::LoadU(df, q + c);
    const auto qb = hn::LoadU(df, q + c + N);
    HWY_UNROLL(4)
    for (size_t r = 0; r < kKeys; ++r) {
      a[r] = hn::MulAdd(qa, LoadKey<kStreamed>(df, rows[r] + c), a[r]);
    }
    HWY_UNROLL(4)
    for (size_t r = 0; r < kKeys; ++r) {
      b[r] = hn::MulAdd(qb, LoadKey<kStreamed>(df, rows[r] + c + N), b[r]);
    }
  }
  if (c < full) {
    const auto qa = hn::LoadU(df, q + c);
    HWY_UNROLL(4)
    for (size_t r = 0; r < kKeys; ++r) {
      a[r] = hn::MulAdd(qa, LoadKey<kStreamed>(df, rows[r] + c), a[r]);
    }
  }
  HWY_UNROLL(4)
  for (size_t r = 0; r < kKeys; ++r) sums[r] = hn::Add(a[r], b[r]);
}
template <size_t kKeys, bool kStreamed = false, class D>
HWY_INLINE void DotChains(D df, const float* HWY_RESTRICT q, const float* HWY_RESTRICT k,
                          size_t k_stride, size_t full, hn::Vec<D>* HWY_RESTRICT sums) {
  const float* rows[kKeys];
  HWY_UNROLL(4)
  for (size_t r = 0; r < kKeys; ++r) rows[r] = k + r * k_stride;
  DotChainsRows<kKeys, kStreamed>(df, q, rows, full, sums);
}

// Unscaled <q, k> from the key's DotChains vector: SumOfLanes, then the scalar tail
// c in [full, dim).
template <class D>
HWY_INLINE float ReduceDot(D df, hn::Vec<D> sum, const float* HWY_RESTRICT q,
                           const float* HWY_RESTRICT k, size_t full, size_t dim) {
  return DotTail(q, k, full, dim, hn::GetLane(hn::SumOfLanes(df, sum)));
}

// Unscaled <q, k> over the full vectors [0, full) of dim plus the scalar tail: one key's
// DotChains and ReduceDot.
template <class D>
HWY_INLINE float DotOne(D df, const float* HWY_RESTRICT q, const float* HWY_RESTRICT k,
                        size_t full, size_t dim) {
  hn::Vec<D> sum;
  DotChains<1>(df, q, k, /*k_stride=*/0, full, &sum);
  return ReduceDot(df, sum, q, k, full, dim);
}

// Unscaled <q, k> with q, k of length dim (any alignment).
HWY_INLINE float DotF32(const float* HWY_RESTRICT q, const float* HWY_RESTRICT k, size_t dim) {
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df);
  return DotOne(df, q, k, dim - dim % N, dim);
}

// scores[j] = scale * <q, k + j * k_stride> for j in [0, count). q and every key row hold dim
// floats; no alignment required. scores must not alias q or k. Four keys at a time share the
// loads of q (DotChains<4>); each key's operations are exactly DotOne's.
HWY_INLINE void ScoreRun(const float* HWY_RESTRICT q, const float* HWY_RESTRICT k,
                         size_t k_stride, size_t dim, size_t count, float scale,
                         float* HWY_RESTRICT scores) {
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df);
  const size_t full = dim - dim % N;
  size_t j = 0;
  for (; j + 4 <= count; j += 4) {
    const float* k0 = k + j * k_stride;
    hn::Vec<decltype(df)> sums[4];
    DotChains<4>(df, q, k0, k_stride, full, sums);
    HWY_UNROLL(4)
    for (size_t r = 0; r < 4; ++r) {
      scores[j + r] = scale * ReduceDot(df, sums[r], q, k0 + r * k_stride, full, dim);
    }
  }
  for (; j < count; ++j) scores[j] = scale * DotOne(df, q, k + j * k_stride, full, dim);
}

// Prefetches every cache line of one row of `len` floats (scattered rows: the loops over
// reported or sampled key ids issue it kScatterAhead ids ahead of use).
HWY_INLINE void PrefetchRow(const float* row, size_t len) {
  for (size_t off = 0; off < len; off += 16) hwy::Prefetch(row + off);
}

// Ids ahead that every loop over scattered K / V rows prefetches (ScoreIds, GatherBlock in
// core/hsr/gather-inl.h, the threshold sample copy in core/hsr/sample_scores.cc).
constexpr size_t kScatterAhead = 8;

// f(i, s_i) for i in [0, count) in order, s_i = ScoreRun(q, K[ids[i]]) (K rows of d floats,
// stride d): the one loop over scattered key rows (index rechecks, rescoring a report). Four
// ids at a time share q's loads (DotChainsRows<4>: eight independent FMA chains instead of two,
// each key's operations exactly ScoreRun's, so the same bits).
template <class F>
HWY_INLINE void ScoreIds(const float* HWY_RESTRICT q, const float* HWY_RESTRICT k, size_t d,
                         const uint32_t* HWY_RESTRICT ids, size_t count, float scale, F&& f) {
  const hn::ScalableTag<float> df;
  const size_t full = d - d % hn::Lanes(df);
  size_t i = 0;
  for (; i + 4 <= count; i += 4) {
    for (size_t r = i + kScatterAhead; r < i + kScatterAhead + 4 && r < count; ++r) {
      PrefetchRow(k + static_cast<size_t>(ids[r]) * d, d);
    }
    const float* rows[4];
    HWY_UNROLL(4)
    for (size_t r = 0; r < 4; ++r) rows[r] = k + static_cast<size_t>(ids[i + r]) * d;
    hn::Vec<decltype(df)> sums[4];
    DotChainsRows<4>(df, q, rows, full, sums);
    HWY_UNROLL(4)
    for (size_t r = 0; r < 4; ++r) f(i + r, scale * ReduceDot(df, sums[r], q, rows[r], full, d));
  }
  for (; i < count; ++i) {
    if (i + kScatterAhead < count) {
      PrefetchRow(k + static_cast<size_t>(ids[i + kScatterAhead]) * d, d);
    }
    float s;
    ScoreRun(q, k + static_cast<size_t>(ids[i]) * d, d, d, 1, scale, &s);
    f(i, s);
  }
}

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace hsr
HWY_AFTER_NAMESPACE();

#endif  // HSR_CORE_ATTENTION_SCORE_INL_H_
