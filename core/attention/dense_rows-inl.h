// Per-target dense-hwy decode kernel: up to kMaxDecodeRows query rows of one kv head against
// a key split [kb, ke), one row at a time over chunks of kChunk keys (flash-decoding):
//   scores via ScoreBlock (score_block-inl.h: ScoreRun's scores bit for bit, a vector's
//   worth of keys' horizontal sums at once), chunk max, weights relative to the running reference (online
//   rescaling, skipped when the max did not change), then acc += w_j v_j with FMAs: softmax
//   accumulates the whole chunk (contiguous V rows), ReLU^alpha only its nonzero weights.
// The K and V chunk stays in L2 while the rows of the group reuse it, so K and V are read
// from memory once per kv head; with job.stream (the default, dense_hwy.h) the first row to
// score a chunk reads its keys in row order (score_block-inl.h). No software prefetch: it
// measured no gain over the hardware prefetchers (on Zen 4, K 1-8 KiB ahead: 15-50% slower).
// Included by dense_hwy.cc after dense_hwy_detail::Job.
// Reference: dense_ref.cc. Test: dense_hwy_test.cc.

#if defined(HSR_CORE_ATTENTION_DENSE_ROWS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef HSR_CORE_ATTENTION_DENSE_ROWS_INL_H_
#undef HSR_CORE_ATTENTION_DENSE_ROWS_INL_H_
#else
#define HSR_CORE_ATTENTION_DENSE_ROWS_INL_H_
#endif

#include <stddef.h>
#include <stdint.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/attention/score-inl.h"
#include "core/attention/score_block-inl.h"
#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace hsr {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

constexpr size_t kChunk = 256;         // keys per chunk (K + V chunk fits L2 for d <= 128)
constexpr size_t kMaxDecodeRows = 16;  // rows per decode task
constexpr size_t kMinSplitKeys = 4096; // smallest key split worth a task
// Exp arguments are clamped here: Exp(-200) is exactly 0 and no conversion overflows.
constexpr float kMinExpArg = -200.0f;

// x^alpha for integer alpha >= 1 (binary powering).
template <class D, class V>
HWY_INLINE V PowInt(D /*d*/, V x, int alpha) {
  V result = x;
  V base = x;
  int e = alpha - 1;
  while (e > 0) {
    if (e & 1) result = hn::Mul(result, base);
    e >>= 1;
    if (e > 0) base = hn::Mul(base, base);
  }
  // The powers above are of x; result = x * x^(alpha-1).
  return result;
}

inline float PowIntScalar(float x, int alpha) {
  float r = 1.0f;
  for (int i = 0; i < alpha; ++i) r *= x;
  return r;
}

template <class D>
HWY_INLINE size_t RowsScratchFloats(D df, size_t dv) {
  const size_t N = hn::Lanes(df);
  const size_t dvp = (dv + N - 1) / N * N;
  return 2 * (kChunk + N) + kMaxDecodeRows * dvp;
}

// acc[c0 .. c0 + kV * N) += sum_t w[t] * v_row(idx[t]): kV independent FMA chains.
template <size_t kV, class D>
HWY_INLINE void AccumulateBlock(D df, const float* HWY_RESTRICT w,
                                const uint32_t* HWY_RESTRICT idx, size_t nz, const float* v,
                                size_t v_stride, size_t c0, float* HWY_RESTRICT acc) {
  const size_t N = hn::Lanes(df);
  hn::Vec<D> a[kV];
  HWY_UNROLL(8)
  for (size_t i = 0; i < kV; ++i) a[i] = hn::Load(df, acc + c0 + i * N);
  for (size_t t = 0; t < nz; ++t) {
    const auto wt = hn::Set(df, w[t]);
    const float* vr = v + idx[t] * v_stride + c0;
    HWY_UNROLL(8)
    for (size_t i = 0; i < kV; ++i) a[i] = hn::MulAdd(wt, hn::LoadU(df, vr + i * N), a[i]);
  }
  HWY_UNROLL(8)
  for (size_t i = 0; i < kV; ++i) hn::Store(a[i], df, acc + c0 + i * N);
}

// acc[c0 .. c0 + kV * N) += sum_{t < cnt} w[t] * v_row(t): kV independent FMA chains.
template <size_t kV, class D>
HWY_INLINE void AccumulateDenseBlock(D df, const float* HWY_RESTRICT w, size_t cnt,
                                     const float* v, size_t v_stride, size_t c0,
                                     float* HWY_RESTRICT acc) {
  const size_t N = hn::Lanes(df);
  hn::Vec<D> a[kV];
  HWY_UNROLL(8)
  for (size_t i = 0; i < kV; ++i) a[i] = hn::Load(df, acc + c0 + i * N);
  const float* vr = v + c0;
  for (size_t t = 0; t < cnt; ++t, vr += v_stride) {
    const auto wt = hn::Set(df, w[t]);
    HWY_UNROLL(8)
    for (size_t i = 0; i < kV; ++i) a[i] = hn::MulAdd(wt, LoadStreamed(df, vr + i * N), a[i]);
  }
  HWY_UNROLL(8)
  for (size_t i = 0; i < kV; ++i) hn::Store(a[i], df, acc + c0 + i * N);
}

// acc[0..dv) += sum_{t < cnt} w[t] * v_row(t) (every weight, zeros included); acc is
// vector-aligned. Column blocks of 8 vectors in registers; with several blocks (dv = 128 on
// AVX2) the keys go in sub-chunks of kAccKeys so the later blocks re-read V rows from L1.
// Each column still sees the keys in order, so the sums do not depend on kAccKeys. Two keys:
// a block's pass over a V row then comes right after the previous block's, close to the row
// order the DRAM stream wants. Softmax decode n = 2^17, d = 128, AVX2, 1 thread, cold:
// 32 keys 6969-7508 us, 2 keys 4284-4537 us (3 runs alternating; 8 and 4 keys measured
// 5429-8005 and 5430-6309 us); in cache (--cold off, n = 4096) 59.3-59.7 -> 55.8-56.8 us.
constexpr size_t kAccKeys = 2;
HWY_INLINE void AccumulateDenseCols(const float* HWY_RESTRICT w, size_t cnt, const float* v,
                                    size_t v_stride, size_t dv, float* HWY_RESTRICT acc) {
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df);
  size_t c = 0;
  for (; c + 8 * N <= dv; c += 8 * N) AccumulateDenseBlock<8>(df, w, cnt, v, v_stride, c, acc);
  if (c + 4 * N <= dv) {
    AccumulateDenseBlock<4>(df, w, cnt, v, v_stride, c, acc);
    c += 4 * N;
  }
  for (; c + N <= dv; c += N) AccumulateDenseBlock<1>(df, w, cnt, v, v_stride, c, acc);
  for (; c < dv; ++c) {
    float a = acc[c];
    for (size_t t = 0; t < cnt; ++t) a += w[t] * v[t * v_stride + c];
    acc[c] = a;
  }
}

HWY_INLINE void AccumulateDense(const float* HWY_RESTRICT w, size_t cnt, const float* v,
                                size_t v_stride, size_t dv, float* HWY_RESTRICT acc) {
  const hn::ScalableTag<float> df;
  if (dv <= 8 * hn::Lanes(df)) return AccumulateDenseCols(w, cnt, v, v_stride, dv, acc);
  for (size_t t = 0; t < cnt; t += kAccKeys) {
    AccumulateDenseCols(w + t, std::min(kAccKeys, cnt - t), v + t * v_stride, v_stride, dv, acc);
  }
}

// acc[0..dv) += sum_t w[t] * v_row(idx[t]) ; acc is vector-aligned.
HWY_INLINE void AccumulateRows(const float* HWY_RESTRICT w, const uint32_t* HWY_RESTRICT idx,
                               size_t nz, const float* v, size_t v_stride, size_t dv,
                               float* HWY_RESTRICT acc) {
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df);
  size_t c = 0;
  for (; c + 8 * N <= dv; c += 8 * N) AccumulateBlock<8>(df, w, idx, nz, v, v_stride, c, acc);
  if (c + 4 * N <= dv) {
    AccumulateBlock<4>(df, w, idx, nz, v, v_stride, c, acc);
    c += 4 * N;
  }
  for (; c + N <= dv; c += N) AccumulateBlock<1>(df, w, idx, nz, v, v_stride, c, acc);
  for (; c < dv; ++c) {
    float a = acc[c];
    for (size_t t = 0; t < nz; ++t) a += w[t] * v[idx[t] * v_stride + c];
    acc[c] = a;
  }
}

// Rows [r0, r0 + count) of kv head g against keys [kb, ke). Returns the number of empty rows
// emitted (only when job.splits == 1).
inline size_t RowsTask(const dense_hwy_detail::Job& job, size_t g, size_t r0, size_t count,
                       size_t split, size_t kb, size_t ke, float* HWY_RESTRICT scratch) {
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df);
  const size_t d = job.d, dv = job.dv;
  const size_t dvp = (dv + N - 1) / N * N;
  const ConstMatrixView K = job.k.Head(g), V = job.v.Head(g);
  float* s = scratch;                   // kChunk + N scores, then weights in place
  float* wz = scratch + kChunk + N;     // compacted nonzero weights
  float* accs = scratch + 2 * (kChunk + N);
  uint32_t idx[kChunk];
  constexpr float kLowest = std::numeric_limits<float>::lowest();
  const float neg_inf = -std::numeric_limits<float>::infinity();

  float ref[kMaxDecodeRows], l[kMaxDecodeRows], b[kMaxDecodeRows];
  size_t lim[kMaxDecodeRows];
  size_t end = kb;
  for (size_t i = 0; i < count; ++i) {
    ref[i] = job.relu ? 0.0f : neg_inf;
    l[i] = 0.0f;
    b[i] = job.relu ? job.Threshold(g, r0 + i) : 0.0f;
    lim[i] = std::min(ke, job.Limit(r0 + i));
    end = std::max(end, lim[i]);
    std::fill(accs + i * dvp, accs + (i + 1) * dvp, 0.0f);
  }
  const auto lowest_v = hn::Set(df, kLowest);
  const auto min_arg = hn::Set(df, kMinExpArg);
  const auto zero = hn::Zero(df);
  for (size_t j0 = kb; j0 < end; j0 += kChunk) {
    // Only the first row to score a chunk reads its K from DRAM (row order when streaming);
    // the group's later rows find it in L2, where the interleaved order is faster.
    bool from_dram = job.stream;
    for (size_t i = 0; i < count; ++i) {
      if (lim[i] <= j0) continue;
      const size_t cnt = std::min(kChunk, lim[i] - j0);
      ScoreBlock(job.QRow(g, r0 + i), K.Row(j0), K.stride, d, cnt, job.scale, s, from_dram);
      from_dram = false;
      const size_t padded = (cnt + N - 1) / N * N;
      for (size_t j = cnt; j < padded; ++j) s[j] = kLowest;
      float new_ref, corr;
      if (!job.relu) {
        // Softmax: every visible key has a weight (exp underflow to 0 is harmless), so the
        // whole chunk is accumulated without compaction.
        auto mx = lowest_v;
        for (size_t j = 0; j < padded; j += N) mx = hn::Max(mx, hn::Load(df, s + j));
        new_ref = std::max(ref[i], hn::GetLane(hn::MaxOfLanes(df, mx)));
        corr = new_ref == ref[i] ? 1.0f : std::exp(ref[i] - new_ref);  // exp(-inf) = 0 first
        const auto nr = hn::Set(df, new_ref);
        auto sum = zero;
        for (size_t j = 0; j < padded; j += N) {
          const auto x = hn::Max(hn::Sub(hn::Load(df, s + j), nr), min_arg);
          const auto w = hn::Exp(df, x);
          sum = hn::Add(sum, w);
          hn::Store(w, df, s + j);
        }
        float* acc = accs + i * dvp;
        if (corr != 1.0f) {
          const auto cv = hn::Set(df, corr);
          for (size_t c = 0; c < dvp; c += N) {
            hn::Store(hn::Mul(hn::Load(df, acc + c), cv), df, acc + c);
          }
        }
        l[i] = l[i] * corr + hn::GetLane(hn::SumOfLanes(df, sum));
        ref[i] = new_ref;
        AccumulateDense(s, cnt, V.Row(j0), V.stride, dv, acc);
        continue;
      }
      {
        // ReLU^alpha: weights are zero below the threshold; only nonzero ones are accumulated.
        const auto bv = hn::Set(df, b[i]);
        auto mx = zero;
        for (size_t j = 0; j < padded; j += N) {
          const auto x = hn::Sub(hn::Load(df, s + j), bv);
          hn::Store(x, df, s + j);
          mx = hn::Max(mx, x);
        }
        new_ref = std::max(ref[i], hn::GetLane(hn::MaxOfLanes(df, mx)));
        if (!(new_ref > 0.0f)) continue;  // no positive weight yet
        const float inv = 1.0f / new_ref;
        corr = new_ref == ref[i] ? 1.0f : PowIntScalar(ref[i] * inv, job.alpha);
        const auto iv = hn::Set(df, inv);
        for (size_t j = 0; j < padded; j += N) {
          const auto x = hn::Load(df, s + j);
          const auto w = PowInt(df, hn::Mul(x, iv), job.alpha);
          hn::Store(hn::IfThenElseZero(hn::Gt(x, zero), w), df, s + j);
        }
      }
      size_t nz = 0;
      float lsum = 0.0f;
      for (size_t j = 0; j < cnt; ++j) {
        if (s[j] != 0.0f) {
          wz[nz] = s[j];
          idx[nz++] = static_cast<uint32_t>(j);
          lsum += s[j];
        }
      }
      float* acc = accs + i * dvp;
      if (corr != 1.0f) {
        const auto cv = hn::Set(df, corr);
        for (size_t c = 0; c < dvp; c += N) hn::Store(hn::Mul(hn::Load(df, acc + c), cv), df, acc + c);
      }
      l[i] = l[i] * corr + lsum;
      ref[i] = new_ref;
      AccumulateRows(wz, idx, nz, V.Row(j0), V.stride, dv, acc);
    }
  }
  size_t empty = 0;
  for (size_t i = 0; i < count; ++i) {
    empty += dense_hwy_detail::EmitRow(job, g, r0 + i, split, ref[i], l[i], accs + i * dvp, 1)
                 ? 1
                 : 0;
  }
  return empty;
}

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace hsr
HWY_AFTER_NAMESPACE();

#endif  // HSR_CORE_ATTENTION_DENSE_ROWS_INL_H_
