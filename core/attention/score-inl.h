// Per-target float32 score kernel: s_j = scale * <q, k_j> for a run of key rows.
//
// The one shared score kernel (DESIGN.md §1): dense-hwy's decode path and the half-space
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

// The two accumulators of one key over the full vectors [0, full) of dim (even vectors into
// the first, odd into the second), summed: the vector DotOne reduces. Also used by
// ScoreBlock (score_block-inl.h), which reduces eight keys' vectors at once.
template <class D>
HWY_INLINE hn::Vec<D> DotChains(D df, const float* HWY_RESTRICT q, const float* HWY_RESTRICT k,
                                size_t full) {
  const size_t N = hn::Lanes(df);
  auto a0 = hn::Zero(df), b0 = hn::Zero(df);
  size_t c = 0;
  for (; c + 2 * N <= full; c += 2 * N) {
    a0 = hn::MulAdd(hn::LoadU(df, q + c), hn::LoadU(df, k + c), a0);
    b0 = hn::MulAdd(hn::LoadU(df, q + c + N), hn::LoadU(df, k + c + N), b0);
  }
  if (c < full) a0 = hn::MulAdd(hn::LoadU(df, q + c), hn::LoadU(df, k + c), a0);
  return hn::Add(a0, b0);
}

// Unscaled <q, k> over the full vectors [0, full) of dim plus the scalar tail: the one
// definition of a score (two accumulators: even and odd vectors).
template <class D>
HWY_INLINE float DotOne(D df, const float* HWY_RESTRICT q, const float* HWY_RESTRICT k,
                        size_t full, size_t dim) {
  return DotTail(q, k, full, dim, hn::GetLane(hn::SumOfLanes(df, DotChains(df, q, k, full))));
}

// Unscaled <q, k> with q, k of length dim (any alignment).
HWY_INLINE float DotF32(const float* HWY_RESTRICT q, const float* HWY_RESTRICT k, size_t dim) {
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df);
  return DotOne(df, q, k, dim - dim % N, dim);
}

// scores[j] = scale * <q, k + j * k_stride> for j in [0, count). q and every key row hold dim
// floats; no alignment required. scores must not alias q or k. Four keys at a time share the
// loads of q (8 independent FMA chains); each key's operations are exactly DotOne's.
HWY_INLINE void ScoreRun(const float* HWY_RESTRICT q, const float* HWY_RESTRICT k,
                         size_t k_stride, size_t dim, size_t count, float scale,
                         float* HWY_RESTRICT scores) {
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df);
  const size_t full = dim - dim % N;
  size_t j = 0;
  for (; j + 4 <= count; j += 4) {
    const float* k0 = k + j * k_stride;
    const float* k1 = k0 + k_stride;
    const float* k2 = k1 + k_stride;
    const float* k3 = k2 + k_stride;
    auto a0 = hn::Zero(df), a1 = hn::Zero(df), a2 = hn::Zero(df), a3 = hn::Zero(df);
    auto b0 = hn::Zero(df), b1 = hn::Zero(df), b2 = hn::Zero(df), b3 = hn::Zero(df);
    size_t c = 0;
    for (; c + 2 * N <= full; c += 2 * N) {
      const auto qa = hn::LoadU(df, q + c);
      const auto qb = hn::LoadU(df, q + c + N);
      a0 = hn::MulAdd(qa, hn::LoadU(df, k0 + c), a0);
      a1 = hn::MulAdd(qa, hn::LoadU(df, k1 + c), a1);
      a2 = hn::MulAdd(qa, hn::LoadU(df, k2 + c), a2);
      a3 = hn::MulAdd(qa, hn::LoadU(df, k3 + c), a3);
      b0 = hn::MulAdd(qb, hn::LoadU(df, k0 + c + N), b0);
      b1 = hn::MulAdd(qb, hn::LoadU(df, k1 + c + N), b1);
      b2 = hn::MulAdd(qb, hn::LoadU(df, k2 + c + N), b2);
      b3 = hn::MulAdd(qb, hn::LoadU(df, k3 + c + N), b3);
    }
    if (c < full) {
      const auto qa = hn::LoadU(df, q + c);
      a0 = hn::MulAdd(qa, hn::LoadU(df, k0 + c), a0);
      a1 = hn::MulAdd(qa, hn::LoadU(df, k1 + c), a1);
      a2 = hn::MulAdd(qa, hn::LoadU(df, k2 + c), a2);
      a3 = hn::MulAdd(qa, hn::LoadU(df, k3 + c), a3);
    }
    scores[j + 0] = scale * DotTail(q, k0, full, dim, hn::GetLane(hn::SumOfLanes(df, hn::Add(a0, b0))));
    scores[j + 1] = scale * DotTail(q, k1, full, dim, hn::GetLane(hn::SumOfLanes(df, hn::Add(a1, b1))));
    scores[j + 2] = scale * DotTail(q, k2, full, dim, hn::GetLane(hn::SumOfLanes(df, hn::Add(a2, b2))));
    scores[j + 3] = scale * DotTail(q, k3, full, dim, hn::GetLane(hn::SumOfLanes(df, hn::Add(a3, b3))));
  }
  for (; j < count; ++j) scores[j] = scale * DotOne(df, q, k + j * k_stride, full, dim);
}

// Prefetches every cache line of one row of `len` floats (scattered rows: the recheck and
// gathers of reported keys issue it a few ids ahead of use).
HWY_INLINE void PrefetchRow(const float* row, size_t len) {
  for (size_t off = 0; off < len; off += 16) hwy::Prefetch(row + off);
}

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace hsr
HWY_AFTER_NAMESPACE();

#endif  // HSR_CORE_ATTENTION_SCORE_INL_H_
