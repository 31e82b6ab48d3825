// Per-target dense-hwy tile kernel (prefill, batched decode, GQA groups): a block of
// TileRows = 2 vectors of query rows of one kv head, queries in lanes (FlashAttention on CPU):
//   S^T[j][lanes] = sum_c K[j][c] * Q^T[c][lanes]      (ScoreTile, score_tile-inl.h)
//   per lane: online max / ReLU reference, weights P = exp(S - max) or ((S - b) / ref)^alpha
//   O^T[c][lanes] += sum_j V[j][c] * P[j][lanes]       (kCols columns x 2 vectors in registers)
// K and V are read in place (no packing); Q^T and O^T live in per-thread scratch. Row maxima
// need no horizontal reductions. Causal tiles beyond a block's last visible key are skipped and
// only tiles crossing the diagonal are masked. Included by dense_hwy.cc after dense_rows-inl.h.
// Reference: dense_ref.cc. Test: dense_hwy_test.cc.

#if defined(HSR_CORE_ATTENTION_DENSE_TILE_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef HSR_CORE_ATTENTION_DENSE_TILE_INL_H_
#undef HSR_CORE_ATTENTION_DENSE_TILE_INL_H_
#else
#define HSR_CORE_ATTENTION_DENSE_TILE_INL_H_
#endif

#include <stddef.h>
#include <stdint.h>

#include <algorithm>
#include <cfloat>
#include <limits>

#include "core/attention/dense_rows-inl.h"
#include "core/attention/score_tile-inl.h"
#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace hsr {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

constexpr size_t kTileKeys = 64;
// Register blocking of AccumulateCols: 2 * kCols accumulators (32 vector registers on AVX-512,
// 16 elsewhere).
#if HWY_TARGET <= HWY_AVX3
constexpr size_t kCols = 8;
#else
constexpr size_t kCols = 6;
#endif

// Sub-blocks of TileRows query rows per tile task (row blocking).
constexpr size_t kTileBlocks = 8;

template <class D>
HWY_INLINE size_t TileTaskRows(D df) {
  return kTileBlocks * TileRows(df);
}

template <class D>
HWY_INLINE size_t TileScratchFloats(D df, size_t d, size_t dv) {
  const size_t W = TileRows(df);
  return (kTileKeys + kTileBlocks * (d + dv + 8)) * W;
}

// ot[(c) * W + lanes] += sum_jj v[jj][c] * p[jj][lanes], c in [c0, c0 + kC).
template <size_t kC, class D>
HWY_INLINE void AccumulateCols(D df, const float* HWY_RESTRICT p, size_t bk, const float* v,
                               size_t v_stride, size_t c0, float* HWY_RESTRICT ot) {
  const size_t N = hn::Lanes(df);
  const size_t W = 2 * N;
  hn::Vec<D> a0[kC], a1[kC];
  HWY_UNROLL(8)
  for (size_t c = 0; c < kC; ++c) {
    a0[c] = hn::Load(df, ot + (c0 + c) * W);
    a1[c] = hn::Load(df, ot + (c0 + c) * W + N);
  }
  for (size_t jj = 0; jj < bk; ++jj) {
    const auto p0 = hn::Load(df, p + jj * W);
    const auto p1 = hn::Load(df, p + jj * W + N);
    const float* vr = v + jj * v_stride + c0;
    HWY_UNROLL(8)
    for (size_t c = 0; c < kC; ++c) {
      const auto vv = hn::Set(df, vr[c]);
      a0[c] = hn::MulAdd(vv, p0, a0[c]);
      a1[c] = hn::MulAdd(vv, p1, a1[c]);
    }
  }
  HWY_UNROLL(8)
  for (size_t c = 0; c < kC; ++c) {
    hn::Store(a0[c], df, ot + (c0 + c) * W);
    hn::Store(a1[c], df, ot + (c0 + c) * W + N);
  }
}

// The last r < kCols columns in one block (see ScoreRest: single columns are FMA-latency bound).
template <size_t kC, class D>
HWY_INLINE void AccumulateRest(D df, const float* HWY_RESTRICT p, size_t bk, const float* v,
                               size_t v_stride, size_t c0, size_t r, float* HWY_RESTRICT ot) {
  if constexpr (kC > 0) {
    if (r == kC) return AccumulateCols<kC>(df, p, bk, v, v_stride, c0, ot);
    AccumulateRest<kC - 1>(df, p, bk, v, v_stride, c0, r, ot);
  }
}

// Per sub-block state in scratch: qt (d x W), ot (dv x W), lane_f (8 x W: thresholds, limits
// as int32, ref, l).
struct TileBlock {
  float* qt;
  float* ot;
  float* lane_f;
  size_t r0, count, lim_min, lim_max;
};

// One key tile [j0, j0 + bk) for one sub-block: scores, online weights, O^T update.
template <class D>
HWY_INLINE void TileStep(D df, const dense_hwy_detail::Job& job, const ConstMatrixView& K,
                         const ConstMatrixView& V, const TileBlock& blk, size_t kb, size_t j0,
                         size_t bk, float* HWY_RESTRICT st) {
  const hn::RebindToSigned<D> di;
  using VF = hn::Vec<D>;
  const size_t N = hn::Lanes(df);
  const size_t W = 2 * N;
  const size_t d = job.d, dv = job.dv;
  const float* qt = blk.qt;
  float* ot = blk.ot;
  const float* lane_f = blk.lane_f;
  const int32_t* lane_lim = reinterpret_cast<const int32_t*>(lane_f + W);
  float* ref_f = blk.lane_f + 4 * W;
  float* l_f = blk.lane_f + 5 * W;

  const VF zero = hn::Zero(df), one = hn::Set(df, 1.0f);
  const VF lowest = hn::Set(df, std::numeric_limits<float>::lowest());
  const VF min_arg = hn::Set(df, kMinExpArg);
  const VF scale = hn::Set(df, job.scale);
  const VF b0 = hn::Load(df, lane_f), b1 = hn::Load(df, lane_f + N);
  const auto li0 = hn::Load(di, lane_lim), li1 = hn::Load(di, lane_lim + N);
  VF ref0 = hn::Load(df, ref_f), ref1 = hn::Load(df, ref_f + N);
  VF l0 = hn::Load(df, l_f), l1 = hn::Load(df, l_f + N);

  ScoreTile(df, qt, K.Row(j0), K.stride, d, bk, st);
  size_t jj = 0;
  const bool mask = j0 + bk > blk.lim_min;
  const auto rel = static_cast<int32_t>(j0 - kb);
  // Pass 1: scale (and threshold / mask) the scores, tile maximum per lane.
  VF tm0 = job.relu ? zero : lowest, tm1 = tm0;
  const VF sub0 = job.relu ? b0 : zero, sub1 = job.relu ? b1 : zero;
  const VF masked = job.relu ? zero : lowest;  // relu: x = 0 gives no weight
  for (jj = 0; jj < bk; ++jj) {
    VF s0 = hn::Sub(hn::Mul(hn::Load(df, st + jj * W), scale), sub0);
    VF s1 = hn::Sub(hn::Mul(hn::Load(df, st + jj * W + N), scale), sub1);
    if (mask) {
      const auto j = hn::Set(di, rel + static_cast<int32_t>(jj));
      s0 = hn::IfThenElse(hn::RebindMask(df, hn::Lt(j, li0)), s0, masked);
      s1 = hn::IfThenElse(hn::RebindMask(df, hn::Lt(j, li1)), s1, masked);
    }
    hn::Store(s0, df, st + jj * W);
    hn::Store(s1, df, st + jj * W + N);
    tm0 = hn::Max(tm0, s0);
    tm1 = hn::Max(tm1, s1);
  }
  // Pass 2: weights relative to the new reference, correction of the old state.
  const VF nr0 = hn::Max(ref0, tm0), nr1 = hn::Max(ref1, tm1);
  VF corr0, corr1, sum0 = zero, sum1 = zero;
  if (!job.relu) {
    // ref = lowest while a lane has seen no visible key: corr = 1 on zero state.
    corr0 = hn::Exp(df, hn::Max(hn::Sub(ref0, nr0), min_arg));
    corr1 = hn::Exp(df, hn::Max(hn::Sub(ref1, nr1), min_arg));
    for (jj = 0; jj < bk; ++jj) {
      VF w0 = hn::Exp(df, hn::Max(hn::Sub(hn::Load(df, st + jj * W), nr0), min_arg));
      VF w1 = hn::Exp(df, hn::Max(hn::Sub(hn::Load(df, st + jj * W + N), nr1), min_arg));
      if (mask) {
        const auto j = hn::Set(di, rel + static_cast<int32_t>(jj));
        w0 = hn::IfThenElseZero(hn::RebindMask(df, hn::Lt(j, li0)), w0);
        w1 = hn::IfThenElseZero(hn::RebindMask(df, hn::Lt(j, li1)), w1);
      }
      hn::Store(w0, df, st + jj * W);
      hn::Store(w1, df, st + jj * W + N);
      sum0 = hn::Add(sum0, w0);
      sum1 = hn::Add(sum1, w1);
    }
  } else {
    // ref >= 0; 1 / max(ref, FLT_MIN) stays finite, and x <= 0 gives weight 0.
    const VF inv0 = hn::Div(one, hn::Max(nr0, hn::Set(df, FLT_MIN)));
    const VF inv1 = hn::Div(one, hn::Max(nr1, hn::Set(df, FLT_MIN)));
    // ref * (1 / ref) need not round to 1: an unchanged reference keeps corr = 1 exactly, so
    // O^T is rescaled only when a lane's reference grew.
    corr0 = hn::IfThenElse(hn::Eq(ref0, nr0), one, PowInt(df, hn::Mul(ref0, inv0), job.alpha));
    corr1 = hn::IfThenElse(hn::Eq(ref1, nr1), one, PowInt(df, hn::Mul(ref1, inv1), job.alpha));
    for (jj = 0; jj < bk; ++jj) {
      const VF x0 = hn::Load(df, st + jj * W), x1 = hn::Load(df, st + jj * W + N);
      const VF w0 = hn::IfThenElseZero(hn::Gt(x0, zero), PowInt(df, hn::Mul(x0, inv0), job.alpha));
      const VF w1 = hn::IfThenElseZero(hn::Gt(x1, zero), PowInt(df, hn::Mul(x1, inv1), job.alpha));
      hn::Store(w0, df, st + jj * W);
      hn::Store(w1, df, st + jj * W + N);
      sum0 = hn::Add(sum0, w0);
      sum1 = hn::Add(sum1, w1);
    }
  }
  hn::Store(hn::MulAdd(l0, corr0, sum0), df, l_f);
  hn::Store(hn::MulAdd(l1, corr1, sum1), df, l_f + N);
  hn::Store(nr0, df, ref_f);
  hn::Store(nr1, df, ref_f + N);
  if (!hn::AllTrue(df, hn::Eq(corr0, one)) || !hn::AllTrue(df, hn::Eq(corr1, one))) {
    for (size_t c = 0; c < dv; ++c) {
      hn::Store(hn::Mul(hn::Load(df, ot + c * W), corr0), df, ot + c * W);
      hn::Store(hn::Mul(hn::Load(df, ot + c * W + N), corr1), df, ot + c * W + N);
    }
  }
  const float* vt = V.Row(j0);
  size_t c = 0;
  for (; c + kCols <= dv; c += kCols) AccumulateCols<kCols>(df, st, bk, vt, V.stride, c, ot);
  AccumulateRest<kCols - 1>(df, st, bk, vt, V.stride, c, dv - c, ot);
}

// Rows [r0, r0 + count) (count <= TileTaskRows) of kv head g against keys [kb, ke), as
// sub-blocks of TileRows rows (FlashAttention-style row blocking): each key tile is loaded
// once and used by every sub-block while it is in L1/L2, so K and V stream from memory once
// per TileTaskRows rows. Returns the number of empty rows emitted (only when splits == 1).
inline size_t TileTask(const dense_hwy_detail::Job& job, size_t g, size_t r0, size_t count,
                       size_t split, size_t kb, size_t ke, float* HWY_RESTRICT scratch) {
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df);
  const size_t W = 2 * N;
  const size_t d = job.d, dv = job.dv;
  const ConstMatrixView K = job.k.Head(g), V = job.v.Head(g);
  float* st = scratch;  // kTileKeys x W
  const size_t nb = (count + W - 1) / W;
  TileBlock blk[kTileBlocks];
  size_t lim_all = kb;
  const float ref_init = job.relu ? 0.0f : std::numeric_limits<float>::lowest();
  for (size_t sb = 0; sb < nb; ++sb) {
    TileBlock& b = blk[sb];
    b.qt = scratch + kTileKeys * W + sb * (d + dv + 8) * W;
    b.ot = b.qt + d * W;
    b.lane_f = b.ot + dv * W;
    b.r0 = r0 + sb * W;
    b.count = std::min(W, count - sb * W);
    int32_t* lane_lim = reinterpret_cast<int32_t*>(b.lane_f + W);
    b.lim_min = ke;
    b.lim_max = kb;
    for (size_t lane = 0; lane < W; ++lane) {
      if (lane < b.count) {
        const float* q = job.QRow(g, b.r0 + lane);
        for (size_t c = 0; c < d; ++c) b.qt[c * W + lane] = q[c];
        const size_t lim = std::min(ke, std::max(kb, job.Limit(b.r0 + lane)));
        b.lim_min = std::min(b.lim_min, lim);
        b.lim_max = std::max(b.lim_max, lim);
        lane_lim[lane] = static_cast<int32_t>(lim - kb);
        b.lane_f[lane] = job.relu ? job.Threshold(g, b.r0 + lane) : 0.0f;
      } else {
        for (size_t c = 0; c < d; ++c) b.qt[c * W + lane] = 0.0f;
        lane_lim[lane] = 0;
        b.lane_f[lane] = 0.0f;
      }
      b.lane_f[4 * W + lane] = ref_init;
      b.lane_f[5 * W + lane] = 0.0f;
    }
    std::fill(b.ot, b.ot + dv * W, 0.0f);
    lim_all = std::max(lim_all, b.lim_max);
  }

  for (size_t j0 = kb; j0 < lim_all; j0 += kTileKeys) {
    for (size_t sb = 0; sb < nb; ++sb) {
      if (j0 >= blk[sb].lim_max) continue;
      const size_t bk = std::min(kTileKeys, blk[sb].lim_max - j0);
      TileStep(df, job, K, V, blk[sb], kb, j0, bk, st);
    }
  }

  size_t empty = 0;
  for (size_t sb = 0; sb < nb; ++sb) {
    const TileBlock& b = blk[sb];
    for (size_t lane = 0; lane < b.count; ++lane) {
      empty += dense_hwy_detail::EmitRow(job, g, b.r0 + lane, split, b.lane_f[4 * W + lane],
                                         b.lane_f[5 * W + lane], b.ot + lane, W)
                   ? 1
                   : 0;
    }
  }
  return empty;
}

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace hsr
HWY_AFTER_NAMESPACE();

#endif  // HSR_CORE_ATTENTION_DENSE_TILE_INL_H_
