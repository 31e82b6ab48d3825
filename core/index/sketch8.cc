// sketch8: Highway dispatch unit. See sketch8.h; reference: scan.cc; test: index_props.cc.
//
// Proof of the bound (exact reals unless marked fl):
//   q = t q16 + e with t a power of two >= max|q_c| / Qmax (and t <= 2 (1 + 2^-52) max|q_c| /
//     Qmax: the smallest such power, up to the double rounding of max|q_c| / Qmax), so q_c / t is
//     exact, |q16_c| = |nearbyint(q_c / t)| <= Qmax and |e_c| <= t / 2:
//     ||e|| <= (t / 2) sqrt(d) <= ||q|| sqrt(d) (1 + 2^-52) / Qmax <= delta ||q||, and
//     t ||q16|| <= ||q|| + ||e|| <= (1 + delta) ||q||.
//   ||e||_1 / t = sum_c |q_c / t - q16_c| (every term exact in double; the double sum of d terms
//     is off by < d 2^-53 relative), D = ceil(127 ||e||_1 / t (1 + 2^-30)): an integer with
//     127 ||e||_1 <= t D and 0 <= D <= 127 d / 2 (1 + 2^-30) + 1 <= 64 d + 1.
//   k_j = s_j k8_j + r_j with |k8_jc| <= 127 (r_j computed in double at Build, its norm rounded up).
//   <q, k_j> = t s_j <q16, k8_j> + s_j <e, k8_j> + <q, r_j>
//           <= t s_j <q16, k8_j> + s_j 127 ||e||_1 + ||q|| ||r_j||   (|k8_jc| <= 127; C-S)
//           <= t s_j I_j + ||q|| ||r_j||,   I_j = <q16, k8_j> + D.
//     The query's own error enters through D, per query and at no per-key cost; the worst case
//     ||e|| <= delta ||q|| would put delta s_j ||k8_j|| into w_j instead (delta = sqrt(d) / Qmax
//     grew 4x when q16 went from 15 to 13 bits for the u8 x s8 instructions).
//   I_j is exact: key_code.h computes it modulo 2^32, and |I_j| <= 127 Qmax d + 64 d + 1 < 2^31
//     because Qmax = min(8191, floor((2^31 - 2 - 64 d4) / (127 d4))), d4 = 4 ceil(d / 4) >= d
//     (Qmax = 8191 up to d4 = 2064; Build rejects d > 11243368, where Qmax would be 0).
//   ScoreRun: s_f32 <= scale <q, k_j> + ScoreRelErr(d) scale ||q|| ||k_j|| + ScoreAbsErr
//     (key_store.h). With T = scale t (exact float, else the query is not trusted) and
//     Qn >= scale ||q||:  s_f32 <= E1 + Qn w0_j + ScoreAbsErr, E1 = T s_j I_j,
//     w0_j = ||r_j|| + ScoreRelErr(d) ||k_j||.
//   Evaluating ub = fl(fl(T a_j) fl(I_j) + fl(Qn w_j)) takes <= 4 roundings on the E1 path and
//     2 on the other: fl(ub) >= E1 + Qn w_j - gamma_4 (|E1| + Qn w_j) - 2^31 eta, and
//     |E1| <= scale t s_j (||q16|| ||k8_j|| + D) <= Qn c_j,
//     c_j = s_j ((1 + delta) ||k8_j|| + 130 d / Qmax)   (t D <= t (64 d + 1)
//     <= 2.0000001 ||q|| (64 d + 1) / Qmax <= 130 d ||q|| / Qmax). So with
//     w_j >= (w0_j + gamma_4 c_j) / (1 - gamma_4) (we use twice the gamma terms and round up),
//     fl(ub) + tiny >= s_f32, tiny = ScoreAbsErr + 2^-100.
//   A key is a candidate iff !(fl(ub) <= b_eff), b_eff = the largest float <= b - tiny; a key
//   with s_f32 > b has fl(ub) >= s_f32 - tiny > b - tiny >= b_eff. A NaN bound cannot come
//   from a trusted query (T, Qn, a_j, w_j finite and the overflow guard holds; q = 0 is not
//   trusted, so no 0 * Inf): it means a corrupted sketch and the call throws hsr::Error.
//
// Softmax tail (QueryPrefixTail with tail != null; core/hsr/softmax_cert.h). Wanted:
//   tail >= sum over unreported j < visible of exp(s_f32_j - b). A non-candidate has
//   s_f32_j <= fl(ub_j) + tiny <= b_eff + tiny <= b, so exp(s_f32_j - b) <= exp(ub_j - b) e^tiny;
//   a rejected candidate has s_f32_j <= b: its term is bounded by 1. We evaluate
//   x = max(fl(ub_j - b), -80) (exact arguments in [-80, 0] are off by <= 80 u; clamping only
//   raises the value), e = ExpUpper(x) >= e^x (1 - 4.9e-6) (its derivation below), summed in
//   float per lane over one chunk (<= 256 + 8 roundings on any target: gamma_264 < 1.6e-5) and
//   the chunk sums in double. ReportPrefixBatch's tails (Sketch8BatchTask<true>) sum the same
//   terms per 128-key tile (fewer roundings) with the same candidates, so the same margin covers
//   them. Total relative shortfall < 80 u + 4.9e-6 + 1.6e-5 + tiny < 2^-14, so
//   tail = (1 + 2^-14) sum_nc e + (candidates - reported), capped at visible - reported.
#include "core/index/sketch8.h"

#include <algorithm>
#include <array>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <string_view>
#include <vector>

#include "core/base/error.h"
#include "core/base/huge_pages.h"
#include "core/base/thread_pool.h"
#include "core/index/batch_report.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "core/index/sketch8.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "core/index/key_code-inl.h"
#include "core/index/recheck-inl.h"

HWY_BEFORE_NAMESPACE();
namespace hsr {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

constexpr size_t kSketchTask = 16384;  // keys per task
constexpr size_t kSketchChunk = 256;   // keys per bound chunk
// Tasks and chunks start on code block boundaries (CodeDots scores whole blocks).
static_assert(kSketchTask % kSketchChunk == 0 && kSketchChunk % index_detail::kCodeBlockKeys == 0);

// The bound fl(fl(T a) fl(I) + fl(Qn w)) of N keys (FMA: one rounding fewer than the proof
// allows) and of one key.
template <class DF, class V = hn::Vec<DF>>
HWY_INLINE V BoundVec(DF df, V T, V Qn, const float* HWY_RESTRICT a, const float* HWY_RESTRICT w,
                      const int32_t* HWY_RESTRICT I) {
  const hn::RebindToSigned<DF> di;
  const auto x = hn::ConvertTo(df, hn::LoadU(di, I));
  return hn::MulAdd(hn::Mul(T, hn::LoadU(df, a)), x, hn::Mul(Qn, hn::LoadU(df, w)));
}
HWY_INLINE float BoundOne(float T, float Qn, float a, float w, int32_t I) {
  const float y = T * a;
  const float z = Qn * w;
  return y * static_cast<float>(I) + z;
}

// ub[i] = fl(fl(T a_i) fl(I_i) + fl(Qn w_i)) for keys [begin, begin + count), count <= chunk,
// begin a multiple of 16; I has room for count rounded up to 16. `read`: CodeDots'.
HWY_INLINE void ChunkBounds(const Sketch8Index::Layout& L, const Sketch8Index::QueryCode& qc,
                            size_t begin, size_t count, CodeRead read, int32_t* HWY_RESTRICT I,
                            float* HWY_RESTRICT ub) {
  constexpr size_t kB = index_detail::kCodeBlockKeys;
  CodeDots(L.codes, begin / kB, (count + kB - 1) / kB, qc.words, read, I);
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df);
  const auto T = hn::Set(df, qc.T), Qn = hn::Set(df, qc.Qn);
  const float* a = L.a + begin;
  const float* w = L.w + begin;
  size_t i = 0;
  for (; i + N <= count; i += N) hn::StoreU(BoundVec(df, T, Qn, a + i, w + i, I + i), df, ub + i);
  for (; i < count; ++i) ub[i] = BoundOne(qc.T, qc.Qn, a[i], w[i], I[i]);
}

// e^x from above (the tail proof), for x <= 0 (clamped to [-80, 0]): fewer operations than
// Highway's Exp (no range handling, a degree-4 polynomial; the batched softmax prefill screen at
// n = m = 16384 measured ~5% faster on Zen 3 AVX2, 4 of 5 alternating runs).
// Derivation: e^x = 2^y, y = x log2(e). y' = fl(x L) with L = 0x1.715476p+0, the float just
// below log2(e): x L >= y for x <= 0, and the rounding moves it by <= u |y'| <= 116 u, so
// 2^y' >= 2^y (1 - 4.8e-6). k = floor(y') in [-116, 0], f = y' - k in [0, 1] (exact, or within
// u / 2 below |y'| < 1: 2^f off by <= 0.35 u). p(f) (degree 4, float coefficients) is >= 2^f
// (1 + 2.9e-7) on [0, 1] in exact arithmetic (checked offline on a 2e6-point float64 grid;
// p / 2^f - 1 moves by < 1e-10 between points) and <= 2^f (1 + 5.7e-6); its Horner evaluation
// (positive terms, 4 FMAs) is within 5 u < 3e-7 of it. 2^k is built from the exponent bits
// (normal: k >= -116), and p 2^k is exact. So ExpUpper(x) >= e^x (1 - 4.8e-6 - 2.1e-8) > e^x (1 - 4.9e-6), and
// from above it is loose by at most the polynomial's 5.7e-6, y''s rounding (4.8e-6), L below
// log2(e) (80 x 1.93e-8 in y: 1.1e-6) and Horner's 3e-7: <= e^x (1 + 1.2e-5).
template <class DF, class V = hn::Vec<DF>>
HWY_INLINE V ExpUpper(DF df, V x) {
  const hn::RebindToSigned<DF> di;
  x = hn::Min(hn::Max(x, hn::Set(df, -80.0f)), hn::Zero(df));
  const V y = hn::Mul(x, hn::Set(df, 0x1.715476p+0f));
  const V k = hn::Floor(y);
  const V f = hn::Sub(y, k);
  V p = hn::Set(df, 0x1.bb0b6p-7f);
  p = hn::MulAdd(p, f, hn::Set(df, 0x1.aa4ab8p-5f));
  p = hn::MulAdd(p, f, hn::Set(df, 0x1.ee71eap-3f));
  p = hn::MulAdd(p, f, hn::Set(df, 0x1.62d208p-1f));
  p = hn::MulAdd(p, f, hn::Set(df, 0x1.00005cp+0f));
  const auto bits = hn::ShiftLeft<23>(hn::Add(hn::ConvertTo(di, k), hn::Set(di, 127)));
  return hn::Mul(p, hn::BitCast(df, bits));
}

// One tail term per lane (the tail proof): ExpUpper(ub - b) where ub <= b_eff (a non-candidate),
// else 0; and the same term for a single key in double (a chunk's or tile's scalar remainder).
template <class DF, class V = hn::Vec<DF>>
HWY_INLINE V TailTerms(DF df, V ub, V b, hn::Mask<DF> non_candidate) {
  return hn::IfThenElseZero(non_candidate, ExpUpper(df, hn::Sub(ub, b)));
}
HWY_INLINE double TailTerm(float ub, float b, float b_eff) {
  return ub <= b_eff ? std::exp(std::max(static_cast<double>(ub) - b, -80.0)) : 0.0;
}

// sum over i < count with ub[i] <= b_eff of ExpUpper(ub[i] - b) (see the tail proof).
HWY_INLINE double ChunkTail(const float* HWY_RESTRICT ub, size_t count, float b, float b_eff) {
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df);
  const auto bv = hn::Set(df, b), be = hn::Set(df, b_eff);
  auto acc = hn::Zero(df);
  size_t i = 0;
  for (; i + N <= count; i += N) {
    const auto u = hn::LoadU(df, ub + i);
    acc = hn::Add(acc, TailTerms(df, u, bv, hn::Le(u, be)));
  }
  double sum = static_cast<double>(hn::GetLane(hn::SumOfLanes(df, acc)));
  for (; i < count; ++i) sum += TailTerm(ub[i], b, b_eff);
  return sum;
}

// Writes to cd, in order, the keys j0 + i (i < count) with !(ub[i] <= b_eff): NaN bounds are
// candidates, and set *nan. Returns their number. Candidates are rare (~1% at `paper`), so whole
// vectors are tested first and only a vector with one is expanded, one candidate per set bit of
// its mask (measured faster than a scalar loop over the vector's lanes, and than Highway
// 1.0.3's AVX2 CompressStore).
HWY_INLINE size_t ChunkCandidates(const float* HWY_RESTRICT ub, size_t count, size_t j0,
                                  float b_eff, uint32_t* HWY_RESTRICT cd, bool* nan) {
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df);
  const auto be = hn::Set(df, b_eff);
  size_t nc = 0, i = 0;
  for (; i + N <= count; i += N) {
    const auto u = hn::LoadU(df, ub + i);
    const auto m = hn::Not(hn::Le(u, be));
    if (hn::AllFalse(df, m)) continue;
    *nan |= !hn::AllFalse(df, hn::IsNaN(u));
    HWY_ALIGN uint8_t bytes[HWY_MAX_BYTES / 4 / 8 + 8] = {};  // >= one bit per float lane
    hn::StoreMaskBits(df, m, bytes);
    for (size_t byte = 0; byte < (N + 7) / 8; ++byte) {
      for (uint32_t bits = bytes[byte]; bits != 0; bits &= bits - 1) {
        cd[nc++] = static_cast<uint32_t>(j0 + i + 8 * byte +
                                         hwy::Num0BitsBelowLS1Bit_Nonzero32(bits));
      }
    }
  }
  for (; i < count; ++i) {
    cd[nc] = static_cast<uint32_t>(j0 + i);
    nc += !(ub[i] <= b_eff);
    *nan |= std::isnan(ub[i]);
  }
  return nc;
}

#if HWY_TARGET == HWY_AVX2
// Per 8-bit lane mask: the set lanes' indices in order, one per nibble (the rest zero).
constexpr std::array<uint32_t, 256> CompressNibbles() {
  std::array<uint32_t, 256> t{};
  for (uint32_t m = 0; m < 256; ++m) {
    uint32_t packed = 0, k = 0;
    for (uint32_t lane = 0; lane < 8; ++lane) {
      if (m & (1u << lane)) packed |= lane << (4 * k++);
    }
    t[m] = packed;
  }
  return t;
}
alignas(64) constexpr std::array<uint32_t, 256> kCompressNibbles = CompressNibbles();
#endif

// Stores the lanes of ids where mask is true, in order, to out (which has room for a whole
// vector) and returns their number. Highway 1.0.3's Compress is native on AVX3 (vpcompressd);
// on AVX2 it copies a 1 KiB table to the stack per call (measured: a third of the prefill
// screen's time on Zen 3), so AVX2 looks the lanes up in a static nibble table and permutes
// (vpermd); narrower targets store and pick lanes without branches.
template <class DU, class M>
HWY_INLINE size_t CompressIds(DU du, hn::Vec<DU> ids, M mask, uint32_t* HWY_RESTRICT out) {
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  hn::StoreU(hn::Compress(ids, mask), du, out);
  return hn::CountTrue(du, mask);
#elif HWY_TARGET == HWY_AVX2
  const int bits = _mm256_movemask_ps(_mm256_castsi256_ps(hn::VecFromMask(du, mask).raw));
  const __m256i idx = _mm256_and_si256(
      _mm256_srlv_epi32(_mm256_set1_epi32(static_cast<int>(kCompressNibbles[bits])),
                        _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28)),
      _mm256_set1_epi32(7));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out),
                      _mm256_permutevar8x32_epi32(ids.raw, idx));
  return static_cast<size_t>(__builtin_popcount(static_cast<unsigned>(bits)));
#else
  HWY_ALIGN uint32_t lanes[HWY_MAX_BYTES / sizeof(uint32_t)];
  HWY_ALIGN uint32_t keep[HWY_MAX_BYTES / sizeof(uint32_t)];
  hn::Store(ids, du, lanes);
  hn::Store(hn::VecFromMask(du, mask), du, keep);
  size_t nc = 0;
  for (size_t i = 0; i < hn::Lanes(du); ++i) {
    out[nc] = lanes[i];
    nc += keep[i] != 0;
  }
  return nc;
#endif
}

using RangeOut = Sketch8Index::RangeOut;

// Filters keys [begin, end) and rechecks the candidates (appended to out when they score > b,
// their scores to scores when it is not null). A chunk's candidate rows are prefetched as soon
// as they are known and rechecked after the next chunk's bounds: the scattered recheck rows
// arrive while the code rows stream (rechecking at once stalled on DRAM latency).
HWY_INLINE RangeOut FilterRange(const Sketch8Index::Layout& L, const Sketch8Index::QueryCode& qc,
                                const float* q, float b, float b_eff, size_t begin, size_t end,
                                bool want_tail, std::vector<uint32_t>* out,
                                std::vector<float>* scores) {
  RangeOut r;
  if (!qc.trusted) {
    ReportRun(q, L.keys + begin * L.d, L.d, end - begin, L.scale, b,
              static_cast<uint32_t>(begin), out, scores);
    r.candidates = end - begin;
    return r;
  }
  HWY_ALIGN int32_t I[kSketchChunk];
  HWY_ALIGN float ub[kSketchChunk];
  uint32_t cand[2][kSketchChunk];
  size_t pending = 0;  // candidates of the previous chunk, in cand[1 - cur]
  size_t cur = 0;
  for (size_t j0 = begin; j0 < end; j0 += kSketchChunk) {
    const size_t count = std::min(kSketchChunk, end - j0);
    ChunkBounds(L, qc, j0, count, CodeRead::kStream, I, ub);
    uint32_t* cd = cand[cur];
    bool nan = false;
    const size_t nc = ChunkCandidates(ub, count, j0, b_eff, cd, &nan);
    if (nan) {
      for (size_t i = 0; i < count && r.nan_key < 0; ++i) {
        if (std::isnan(ub[i])) r.nan_key = static_cast<int64_t>(j0 + i);
      }
      return r;
    }
    r.candidates += nc;
    if (want_tail) r.tail += ChunkTail(ub, count, b, b_eff);
    for (size_t i = 0; i < nc; ++i) PrefetchRow(L.keys + static_cast<size_t>(cd[i]) * L.d, L.d);
    RecheckIds(q, L.keys, L.d, L.scale, b, cand[1 - cur], pending, out, scores);
    pending = nc;
    cur = 1 - cur;
  }
  RecheckIds(q, L.keys, L.d, L.scale, b, cand[1 - cur], pending, out, scores);
  return r;
}

// Keys [0, visible): the report into ids; *out gets candidates, tail (when want_tail), NaN key.
void Sketch8QueryT(const Sketch8Index::Layout& L, const Sketch8Index::QueryCode& qc,
                   const float* q, float b, float b_eff, size_t visible, bool want_tail,
                   ThreadPool* pool, std::vector<uint32_t>* ids, std::vector<float>* scores,
                   RangeOut* out) {
  const size_t tasks = (visible + kSketchTask - 1) / kSketchTask;
  if (pool->NumThreads() == 1 || tasks < 2) {
    *out = FilterRange(L, qc, q, b, b_eff, 0, visible, want_tail, ids, scores);
    return;
  }
  std::vector<std::vector<uint32_t>> parts(tasks);
  std::vector<std::vector<float>> part_scores(scores ? tasks : 0);
  std::vector<RangeOut> outs(tasks);
  pool->Run(tasks, [&](size_t task, size_t /*thread*/) {
    const size_t begin = task * kSketchTask;
    outs[task] = FilterRange(L, qc, q, b, b_eff, begin, std::min(visible, begin + kSketchTask),
                             want_tail, &parts[task], scores ? &part_scores[task] : nullptr);
  });
  *out = RangeOut{};
  for (size_t t = 0; t < tasks; ++t) {
    ids->insert(ids->end(), parts[t].begin(), parts[t].end());
    if (scores) scores->insert(scores->end(), part_scores[t].begin(), part_scores[t].end());
    out->candidates += outs[t].candidates;
    out->tail += outs[t].tail;
    if (out->nan_key < 0) out->nan_key = outs[t].nan_key;
  }
}

// Keys per ReportPrefixBatch tile: 16 KiB of codes and 64 KiB of float32 rows at d = 128.
constexpr size_t kBatchTile = 128;
static_assert(kBatchTile % index_detail::kCodeBlockKeys == 0);
static_assert(Sketch8Index::kBatchKeyPart % kBatchTile == 0);
// Tasks with fewer rows than this (grouped-query decode: a kv head's query heads) read each
// tile's codes as a stream and recheck a row's candidates one tile late, their float32 rows
// prefetched as each is found (FilterRange's schedule: only ~1-5% of keys are a candidate of
// any row, so fetching the whole tile's rows would read 4 d bytes per key from DRAM); tasks
// with more (the prefill screen, where most keys are some row's candidate) prefetch the next
// tile's rows into L2 and recheck at once.
constexpr size_t kBatchDeferRows = 64;
// Quantises row `row` into qc (with_line: the portable kernel's layout too); returns its b_eff.
using BatchQuantise =
    std::function<float(size_t row, Sketch8Index::QueryCode* qc, bool with_line)>;

// Where a task writes row r's results: rows[r * stride], nan_key[r * stride] (one slot per row
// and key part).
struct BatchOut {
  index_detail::ReportRow* rows = nullptr;
  int64_t* nan_key = nullptr;
  size_t stride = 1;
  index_detail::ReportRow& Row(size_t r) const { return rows[r * stride]; }
  int64_t& Nan(size_t r) const { return nan_key[r * stride]; }
};

// The rows [r0, r0 + count) of ReportPrefixBatch (query r: q.Row(r), b[r], prefix limits[r];
// its code and b_eff from quantise) over the keys [k_begin, k_end) of their prefixes (k_begin a
// multiple of kBatchTile), in key tiles of kBatchTile keys: per tile and query the integer dots
// (CodeDots), the bounds and candidates exactly as FilterRange computes them for that query
// alone, then the candidates' ScoreRun recheck (at once, or one tile late: kBatchDeferRows).
// Ids ascend per row (tiles in order, keys in order within one). A NaN bound sets the row's
// nan_key (first per row). kTail: each trusted row's tail also sums ExpUpper(ub - b) over its
// non-candidates (the tail proof at the top of this file); untrusted rows keep tail -1.
template <bool kTail>
void Sketch8BatchTask(const Sketch8Index::Layout& L, const BatchQuantise& quantise,
                      ConstMatrixView q, const float* b, const uint32_t* limits, size_t r0,
                      size_t count, size_t k_begin, size_t k_end, const BatchOut& out) {
  uint32_t end = 0;
  for (size_t r = r0; r < r0 + count; ++r) {
    end = std::max(end, std::min(limits[r], static_cast<uint32_t>(k_end)));
  }
  if (k_begin >= end) return;  // no row sees this part
  // The task's query codes and effective thresholds (index r - r0).
  std::vector<Sketch8Index::QueryCode> qcs(count);
  std::vector<float> b_effs(count);
  const bool line = CodeDotsReadsLine();
  for (size_t r = r0; r < r0 + count; ++r) {
    b_effs[r - r0] = quantise(r, &qcs[r - r0], line);
    if (kTail && qcs[r - r0].trusted) out.Row(r).tail = 0.0;
  }
  constexpr size_t kB = index_detail::kCodeBlockKeys;
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df);
  HWY_ALIGN int32_t I[kBatchTile];
  HWY_ALIGN float ub[kBatchTile];
  const hn::RebindToUnsigned<decltype(df)> du;
  // Candidate ids of a tile (a vector of slack): one buffer, or with deferred rechecks two per
  // row (this tile's and the last tile's, pending).
  constexpr size_t kCd = kBatchTile + HWY_MAX_BYTES / sizeof(uint32_t);
  const bool defer = count < kBatchDeferRows;
  std::vector<uint32_t> cd_buf(defer ? 2 * count * kCd : kCd);
  std::vector<uint32_t> pending(defer ? count : 0, 0);  // the pending buffer's count per row
  std::vector<uint8_t> cur(defer ? count : 0, 0);       // which of the row's two is this tile's
  for (size_t j0 = k_begin; j0 < end; j0 += kBatchTile) {
    bool first = true;  // the tile's first CodeDots call reads it from memory
    // Many rows: the next tile's float32 rows (for its rechecks), a slice per row of the task:
    // otherwise each first recheck of a key waits on L3 / DRAM.
    const size_t next = j0 + kBatchTile;
    const size_t next_floats =
        !defer && next < end ? std::min<size_t>(kBatchTile, end - next) * L.d : 0;
    const size_t slice = (next_floats / 16 + count) / count * 16;  // floats, whole lines
    for (size_t r = r0; r < r0 + count; ++r) {
      const size_t from = (r - r0) * slice;
      if (from < next_floats) {  // into L2 (T1): 64 KiB of rows would evict L1's codes
        const float* p = L.keys + next * L.d + from;
        for (size_t off = 0; off < std::min(slice, next_floats - from); off += 16) {
          __builtin_prefetch(p + off, 0, 2);
        }
      }
      const size_t lim = std::min<size_t>(limits[r], k_end);
      if (j0 >= lim || out.Nan(r) >= 0) continue;
      const size_t cnt = std::min(kBatchTile, lim - j0);
      index_detail::ReportRow& row = out.Row(r);
      const float* qr = q.Row(r);
      if (!qcs[r - r0].trusted) {  // every key is a candidate (as in FilterRange)
        ReportRun(qr, L.keys + j0 * L.d, L.d, cnt, L.scale, b[r], static_cast<uint32_t>(j0),
                  &row.ids, &row.scores);
        row.candidates += cnt;
        continue;
      }
      uint32_t* cd = defer ? cd_buf.data() + (2 * (r - r0) + cur[r - r0]) * kCd : cd_buf.data();
      // The candidates !(ub <= b_eff) of ChunkBounds' bounds, without storing them and without
      // branches (a branch per vector mispredicts at ~2% candidates per key): each vector's
      // candidate ids compressed to the front and stored whole (cd has a vector of slack).
      CodeDots(L.codes, j0 / kB, (cnt + kB - 1) / kB, qcs[r - r0].words,
               defer && first ? CodeRead::kStream : CodeRead::kResident, I);
      first = false;
      const auto T = hn::Set(df, qcs[r - r0].T), Qn = hn::Set(df, qcs[r - r0].Qn);
      const auto be = hn::Set(df, b_effs[r - r0]);
      const float* a = L.a + j0;
      const float* w = L.w + j0;
      auto ids = hn::Add(hn::Iota(du, 0), hn::Set(du, static_cast<uint32_t>(j0)));
      const auto step = hn::Set(du, static_cast<uint32_t>(N));
      auto bad = hn::Zero(du);
      const auto bv = hn::Set(df, b[r]);
      auto tail = hn::Zero(df);
      size_t nc = 0, i = 0;
      for (; i + N <= cnt; i += N) {
        const auto ub = BoundVec(df, T, Qn, a + i, w + i, I + i);
        const auto below = hn::Le(ub, be);
        const auto cand = hn::RebindMask(du, hn::Not(below));
        bad = hn::Or(bad, hn::VecFromMask(du, hn::RebindMask(du, hn::Not(hn::Eq(ub, ub)))));
        nc += CompressIds(du, ids, cand, cd + nc);
        ids = hn::Add(ids, step);
        if constexpr (kTail) tail = hn::Add(tail, TailTerms(df, ub, bv, below));
      }
      bool nan = !hn::AllTrue(du, hn::Eq(bad, hn::Zero(du)));
      double tail_sum = kTail ? static_cast<double>(hn::GetLane(hn::SumOfLanes(df, tail))) : 0.0;
      for (; i < cnt; ++i) {
        const float ub = BoundOne(qcs[r - r0].T, qcs[r - r0].Qn, a[i], w[i], I[i]);
        cd[nc] = static_cast<uint32_t>(j0 + i);
        nc += !(ub <= b_effs[r - r0]);
        nan |= std::isnan(ub);
        if constexpr (kTail) tail_sum += TailTerm(ub, b[r], b_effs[r - r0]);
      }
      if constexpr (kTail) row.tail += tail_sum;
      if (nan) {  // the first NaN bound of the tile
        ChunkBounds(L, qcs[r - r0], j0, cnt, CodeRead::kResident, I, ub);
        for (size_t k = 0; k < cnt && out.Nan(r) < 0; ++k) {
          if (std::isnan(ub[k])) out.Nan(r) = static_cast<int64_t>(j0 + k);
        }
        continue;
      }
      row.candidates += nc;
      if (!defer) {
        RecheckIds(qr, L.keys, L.d, L.scale, b[r], cd, nc, &row.ids, &row.scores);
        continue;
      }
      // This tile's candidate rows start arriving; the last tile's are rechecked meanwhile.
      for (size_t k = 0; k < nc; ++k) PrefetchRow(L.keys + static_cast<size_t>(cd[k]) * L.d, L.d);
      uint8_t& c = cur[r - r0];
      RecheckIds(qr, L.keys, L.d, L.scale, b[r], cd_buf.data() + (2 * (r - r0) + 1 - c) * kCd,
                 pending[r - r0], &row.ids, &row.scores);
      pending[r - r0] = static_cast<uint32_t>(nc);
      c = static_cast<uint8_t>(1 - c);
    }
  }
  if (!defer) return;
  for (size_t r = r0; r < r0 + count; ++r) {  // each row's last tile
    if (out.Nan(r) >= 0 || pending[r - r0] == 0) continue;
    RecheckIds(q.Row(r), L.keys, L.d, L.scale, b[r],
               cd_buf.data() + (2 * (r - r0) + 1 - cur[r - r0]) * kCd, pending[r - r0],
               &out.Row(r).ids, &out.Row(r).scores);
  }
}

// Tasks of kBatchRows rows x kBatchKeyPart keys over the pool; row r's part p into
// rows[r * parts + p] (nan_key likewise).
void Sketch8BatchT(const Sketch8Index::Layout& L, const BatchQuantise& quantise,
                   ConstMatrixView q, const float* b, const uint32_t* limits, bool want_tail,
                   size_t parts, ThreadPool* pool, index_detail::ReportRow* rows,
                   int64_t* nan_key) {
  const size_t m = q.rows;
  const size_t row_tasks = (m + Sketch8Index::kBatchRows - 1) / Sketch8Index::kBatchRows;
  const size_t tasks = row_tasks * parts;
  auto run = [&](size_t t, size_t /*thread*/) {
    // Later rows see longer prefixes under causal limits: hand those out first.
    const size_t task = row_tasks - 1 - t / parts, part = t % parts;
    const size_t r0 = task * Sketch8Index::kBatchRows;
    const size_t count = std::min(Sketch8Index::kBatchRows, m - r0);
    const size_t k_begin = part * Sketch8Index::kBatchKeyPart;
    const size_t k_end = std::min(L.codes.n, k_begin + Sketch8Index::kBatchKeyPart);
    const BatchOut out{rows + part, nan_key + part, parts};
    if (want_tail) {
      Sketch8BatchTask<true>(L, quantise, q, b, limits, r0, count, k_begin, k_end, out);
    } else {
      Sketch8BatchTask<false>(L, quantise, q, b, limits, r0, count, k_begin, k_end, out);
    }
  };
  if (pool == nullptr || pool->NumThreads() == 1 || tasks < 2) {
    for (size_t t = 0; t < tasks; ++t) run(t, 0);
  } else {
    pool->Run(tasks, run);
  }
}

// ub[j] for keys [begin, end); returns their max (NaN if any bound is NaN).
HWY_INLINE float BoundsRange(const Sketch8Index::Layout& L, const Sketch8Index::QueryCode& qc,
                             size_t begin, size_t end, float* ub) {
  HWY_ALIGN int32_t I[kSketchChunk];
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df);
  auto mx = hn::Set(df, -std::numeric_limits<float>::infinity());
  auto bad = hn::Zero(df);
  for (size_t j0 = begin; j0 < end; j0 += kSketchChunk) {
    const size_t count = std::min(kSketchChunk, end - j0);
    float* u = ub + j0;
    ChunkBounds(L, qc, j0, count, CodeRead::kStream, I, u);
    size_t i = 0;
    for (; i + N <= count; i += N) {
      const auto v = hn::LoadU(df, u + i);
      mx = hn::Max(mx, v);
      // Not(Eq): Highway's Ne is an ordered compare on x86 (false for NaN).
      bad = hn::Or(bad, hn::IfThenElseZero(hn::Not(hn::Eq(v, v)), hn::Set(df, 1.0f)));
    }
    for (; i < count; ++i) {
      if (std::isnan(u[i])) return u[i];
      mx = hn::Max(mx, hn::Set(df, u[i]));
    }
  }
  if (hn::GetLane(hn::MaxOfLanes(df, bad)) != 0.0f) return std::numeric_limits<float>::quiet_NaN();
  return hn::GetLane(hn::MaxOfLanes(df, mx));
}

// ub[j] for keys [0, visible) over the pool's tasks; returns the max (NaN if any is NaN).
float Sketch8BoundsT(const Sketch8Index::Layout& L, const Sketch8Index::QueryCode& qc,
                     size_t visible, ThreadPool* pool, float* ub) {
  const size_t tasks = (visible + kSketchTask - 1) / kSketchTask;
  if (pool == nullptr || pool->NumThreads() == 1 || tasks < 2) {
    return BoundsRange(L, qc, 0, visible, ub);
  }
  std::vector<float> mx(tasks);
  pool->Run(tasks, [&](size_t task, size_t /*thread*/) {
    const size_t begin = task * kSketchTask;
    mx[task] = BoundsRange(L, qc, begin, std::min(visible, begin + kSketchTask), ub);
  });
  float m = -std::numeric_limits<float>::infinity();
  for (float x : mx) {
    if (std::isnan(x)) return x;
    m = std::max(m, x);
  }
  return m;
}

// NOLINTNEXTLINE(google-readability-namespace-comments)
// CodeDotsReadsLine of the target a call dispatches to (Quantise's with_line).
bool Sketch8ReadsLineT() { return CodeDotsReadsLine(); }

// ExpUpperForTest: out[i] = ExpUpper(x[i]), whole vectors (the tail's lanes) and a scalar tail.
void Sketch8ExpUpperT(const float* x, size_t count, float* out) {
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df);
  size_t i = 0;
  for (; i + N <= count; i += N) hn::StoreU(ExpUpper(df, hn::LoadU(df, x + i)), df, out + i);
  HWY_ALIGN float lanes[HWY_MAX_BYTES / sizeof(float)];  // this target's vector
  for (; i < count; ++i) {
    hn::Store(ExpUpper(df, hn::Set(df, x[i])), df, lanes);
    out[i] = lanes[0];
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace hsr
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace hsr {

HWY_EXPORT(Sketch8QueryT);
HWY_EXPORT(Sketch8BoundsT);
HWY_EXPORT(Sketch8BatchT);
HWY_EXPORT(Sketch8ReadsLineT);
HWY_EXPORT(Sketch8ExpUpperT);

using index_detail::Gamma;
using index_detail::NormUp;
using index_detail::RoundUp;
using index_detail::ScoreRelErr;

namespace {

// Largest float <= x.
float RoundDown(double x) {
  float f = static_cast<float>(x);
  if (static_cast<double>(f) > x) f = std::nextafter(f, -std::numeric_limits<float>::infinity());
  return f;
}

// The softmax tail of a report from the non-candidates' sum (proof at the top of this file):
// margin 2^-14 on their terms, 1 per rejected candidate, at most 1 per unreported key. The
// margin can fall below the sum's last bit when candidates are rejected: the product and the sum
// round by at most 1 ulp of the result together, so one step up keeps the bound.
double TailBound(double non_candidates, size_t visible, size_t reported, uint64_t candidates) {
  const double unreported = static_cast<double>(visible - reported);
  const double rejected = static_cast<double>(candidates - reported);
  const double sum = non_candidates * (1.0 + 0x1p-14) + rejected;
  return std::min(unreported, std::nextafter(sum, std::numeric_limits<double>::infinity()));
}

}  // namespace

Sketch8Index::Sketch8Index(size_t threads) : pool_(std::make_unique<ThreadPool>(threads)) {}
Sketch8Index::~Sketch8Index() = default;

size_t Sketch8Index::MemoryBytes() const {
  return keys_.Bytes() + codes_.Bytes() + (a_.capacity() + w_.capacity()) * sizeof(float);
}

// Quantises one key (the proof is at the top of this file).
void Sketch8Index::AppendRow(const float* key) {
  const size_t d = keys_.d();
  double maxabs = 0.0;
  for (size_t c = 0; c < d; ++c) maxabs = std::max(maxabs, std::fabs(double{key[c]}));
  const float s = static_cast<float>(maxabs / 127.0);
  code_row_.resize(d);
  double r2 = 0.0, k82 = 0.0;
  for (size_t c = 0; c < d; ++c) {
    double code = 0.0;
    if (s > 0.0f) code = std::clamp(std::nearbyint(double{key[c]} / s), -127.0, 127.0);
    code_row_[c] = static_cast<int8_t>(code);
    const double r = double{key[c]} - double{s} * code;
    r2 += r * r;
    k82 += code * code;
  }
  codes_.Append(code_row_.data());
  const double cj = double{s} * ((1.0 + delta_) * std::sqrt(k82) + 130.0 * d / qmax_);
  const double g4 = Gamma(4.0);
  const double w0 = std::sqrt(r2) + ScoreRelErr(d) * NormUp(key, d);
  const double w = (w0 + 2.0 * g4 * cj) * (1.0 + 4.0 * g4) * (1.0 + 0x1p-30);
  a_.push_back(s);
  w_.push_back(RoundUp(w));
}

void Sketch8Index::Build(ConstMatrixView keys, float scale) {
  index_detail::KeyStore store;
  store.Assign("sketch8 Build", keys, scale);
  const size_t d = store.d();
  const double d4 = 4.0 * static_cast<double>(index_detail::CodeGroups(d));
  // |I_j| <= 127 Qmax d4 + 64 d4 + 1 must stay below 2^31 (proof above).
  const double qmax = std::min<double>(index_detail::kQueryCodeMax,
                                       std::floor((2147483646.0 - 64.0 * d4) / (127.0 * d4)));
  HSR_CHECK(qmax >= 1.0, "sketch8 Build: expected d <= 11243368 (13-bit query codes), got d={}",
            d);
  keys_ = std::move(store);
  qmax_ = static_cast<int32_t>(qmax);
  delta_ = std::sqrt(static_cast<double>(d)) / qmax_ * (1.0 + 0x1p-30);
  codes_.Reset(d, keys_.n());
  a_.clear();
  w_.clear();
  a_.reserve(keys_.n());
  w_.reserve(keys_.n());
  for (size_t j = 0; j < keys_.n(); ++j) AppendRow(keys_.Row(j));
}

uint32_t Sketch8Index::Insert(std::span<const float> key) {
  const uint32_t id = keys_.Append("sketch8 Insert", key);
  AppendRow(keys_.Row(id));
  return id;
}

Sketch8Index::QueryCode Sketch8Index::Quantise(std::span<const float> q) const {
  QueryCode qc;
  // The code line (4 KiB at d = 128) only where the dispatched CodeDots reads it.
  QuantiseInto(q, &qc, HWY_DYNAMIC_DISPATCH(Sketch8ReadsLineT)());
  return qc;
}

void Sketch8Index::QuantiseInto(std::span<const float> q, QueryCode* out, bool with_line) const {
  const size_t d = keys_.d();
  const double scale = keys_.scale();
  QueryCode& qc = *out;
  thread_local std::vector<int16_t> q16;
  q16.assign(d, 0);
  double maxabs = 0.0;
  for (float v : q) maxabs = std::max(maxabs, std::fabs(double{v}));
  const double qn = NormUp(q.data(), d);
  qc.trusted = keys_.BoundsTrusted(qn);
  double t = 0.0, e1 = 0.0;  // e1 = ||e||_1 / t
  if (maxabs > 0.0) {
    int e = 0;
    std::frexp(maxabs / qmax_, &e);
    t = std::ldexp(1.0, e);
    while (maxabs / t > qmax_) t *= 2.0;
    const double inv_t = 1.0 / t;  // a power of two: q_c / t = q_c * inv_t exactly
    for (size_t c = 0; c < d; ++c) {
      const double x = double{q[c]} * inv_t;
      const double r = std::nearbyint(x);
      q16[c] = static_cast<int16_t>(r);
      e1 += std::fabs(x - r);
    }
  }
  const auto D = static_cast<int32_t>(std::ceil(127.0 * e1 * (1.0 + 0x1p-30)));
  index_detail::EncodeQuery(q16, codes_.groups(), D, &qc.words, with_line);
  const double T = scale * t;
  qc.T = static_cast<float>(T);
  if (static_cast<double>(qc.T) != T || (T != 0.0 && T < FLT_MIN)) qc.trusted = false;
  qc.Qn = RoundUp(scale * qn);
  // q = 0 (Qn = 0) is not trusted: 0 * an infinite w_j (a key with a huge norm) would be NaN.
  if (!std::isfinite(qc.Qn) || !(qc.Qn > 0.0f)) qc.trusted = false;
  qc.tiny = keys_.BoundTiny();
}

Sketch8Index::Layout Sketch8Index::GetLayout() const {
  Layout L;
  static_cast<index_detail::KeyRows&>(L) = keys_.Rows();
  L.codes = codes_.View();
  L.a = a_.data();
  L.w = w_.data();
  return L;
}

void Sketch8Index::Query(std::span<const float> q, float b, std::vector<uint32_t>* ids,
                         IndexStats* st) const {
  keys_.ValidateQuery("sketch8 Query", q, b);
  Run(q, b, keys_.n(), ids, st, nullptr, nullptr);
}

bool Sketch8Index::QueryPrefixTail(std::span<const float> q, float b, size_t visible,
                                   std::vector<uint32_t>* ids, IndexStats* st,
                                   double* tail, std::vector<float>* scores) const {
  keys_.ValidateQuery("sketch8 Query", q, b);
  HSR_CHECK(visible <= keys_.n(), "sketch8 QueryPrefixTail: expected visible <= n={}, got {}",
            keys_.n(), visible);
  return Run(q, b, visible, ids, st, tail, scores);
}

bool Sketch8Index::Run(std::span<const float> q, float b, size_t visible,
                       std::vector<uint32_t>* ids, IndexStats* st, double* tail,
                       std::vector<float>* scores) const {
  ids->clear();
  if (scores) scores->clear();
  const QueryCode qc = Quantise(q);
  const float b_eff = RoundDown(double{b} - qc.tiny);
  const bool want_tail = tail != nullptr && qc.trusted;
  Sketch8Index::RangeOut r;
  HWY_DYNAMIC_DISPATCH(Sketch8QueryT)(GetLayout(), qc, q.data(), b, b_eff, visible, want_tail,
                                      pool_.get(), ids, scores, &r);
  if (r.nan_key >= 0) {
    ids->clear();
    if (scores) scores->clear();
    Fail("sketch8: expected finite score bounds, got NaN for key {} (corrupted sketch)",
         r.nan_key);
  }
  if (st) {
    st->queries += 1;
    st->keys_bounded += qc.trusted ? visible : 0;
    st->candidates += r.candidates;
    st->reported += ids->size();
    st->bytes_read += (qc.trusted ? visible * BoundBytesPerKey() : 0) +
                      r.candidates * keys_.d() * sizeof(float);
  }
  if (!want_tail) return false;
  *tail = TailBound(r.tail, visible, ids->size(), r.candidates);
  return true;
}

bool Sketch8Index::KeyBounds(std::span<const float> q, size_t visible, float* ub, float* max,
                             double* tiny, IndexStats* st) const {
  keys_.ValidateQuery("sketch8 KeyBounds", q, 0.0f);
  HSR_CHECK(visible <= keys_.n(), "sketch8 KeyBounds: expected visible <= n={}, got {}",
            keys_.n(), visible);
  const QueryCode qc = Quantise(q);
  if (!qc.trusted) return false;
  const float mx = HWY_DYNAMIC_DISPATCH(Sketch8BoundsT)(GetLayout(), qc, visible, pool_.get(), ub);
  if (std::isnan(mx)) {
    size_t j = 0;
    while (j < visible && !std::isnan(ub[j])) ++j;
    Fail("sketch8: expected finite score bounds, got NaN for key {} (corrupted sketch)", j);
  }
  *max = mx;
  *tiny = qc.tiny;
  if (st) {
    st->queries += 1;
    st->keys_bounded += visible;
    st->bytes_read += visible * BoundBytesPerKey();
  }
  return true;
}

uint64_t Sketch8Index::ReportPrefixBatch(ConstMatrixView q, std::span<const float> b,
                                         std::span<const uint32_t> limits, ThreadPool* pool,
                                         ReportBatch* out, std::vector<uint64_t>* row_candidates,
                                         std::vector<float>* scores,
                                         std::vector<double>* tails) const {
  keys_.ValidateBatch("sketch8 ReportPrefixBatch", q, b);
  const size_t m = q.rows;
  HSR_CHECK(limits.size() == m, "sketch8 ReportPrefixBatch: expected {} prefix limits, got {}",
            m, limits.size());
  for (uint32_t l : limits) {
    HSR_CHECK(l <= keys_.n(), "sketch8 ReportPrefixBatch: expected prefix limits <= n={}, got {}",
              keys_.n(), l);
  }
  // Rows are quantised inside their task (in parallel), exactly as Query quantises them.
  const auto quantise = [&](size_t i, QueryCode* qc, bool with_line) {
    QuantiseInto(q.RowSpan(i), qc, with_line);
    return RoundDown(double{b[i]} - qc->tiny);
  };
  // Row i's results per key part p in parts_out[i * parts + p], joined in key order below.
  uint32_t end = 0;
  for (uint32_t l : limits) end = std::max(end, l);
  const size_t parts = BatchKeyParts(end);
  std::vector<index_detail::ReportRow> parts_out(m * parts);
  std::vector<int64_t> nan_key(m * parts, -1);
  if (m > 0 && keys_.n() > 0) {
    HWY_DYNAMIC_DISPATCH(Sketch8BatchT)(GetLayout(), quantise, q, b.data(), limits.data(),
                                        tails != nullptr, parts, pool, parts_out.data(),
                                        nan_key.data());
  }
  for (size_t i = 0; i < m * parts; ++i) {  // in key order within a row: its first NaN bound
    if (nan_key[i] >= 0) {
      Fail("sketch8: expected finite score bounds, got NaN for key {} (corrupted sketch)",
           nan_key[i]);
    }
  }
  std::vector<index_detail::ReportRow> rows(m);
  for (size_t i = 0; i < m; ++i) {
    index_detail::ReportRow& row = rows[i];
    const size_t seen = (limits[i] + kBatchKeyPart - 1) / kBatchKeyPart;  // parts row i sees
    for (size_t p = 0; p < seen; ++p) {
      index_detail::ReportRow& part = parts_out[i * parts + p];
      if (p == 0) {
        row = std::move(part);
        continue;
      }
      row.ids.insert(row.ids.end(), part.ids.begin(), part.ids.end());
      row.scores.insert(row.scores.end(), part.scores.begin(), part.scores.end());
      row.candidates += part.candidates;
      // Untrusted rows have no tail in any part; the parts' sums add in double (the proof's
      // per-tile sums, added in a fixed order: parts depend on the keys, not the threads).
      row.tail = row.tail < 0.0 || part.tail < 0.0 ? -1.0 : row.tail + part.tail;
    }
  }
  if (tails) {
    tails->assign(m, -1.0);
    for (size_t i = 0; i < m; ++i) {
      const index_detail::ReportRow& row = rows[i];
      if (limits[i] == 0) {
        (*tails)[i] = 0.0;  // nothing visible, nothing dropped
      } else if (row.tail >= 0.0) {
        (*tails)[i] = TailBound(row.tail, limits[i], row.ids.size(), row.candidates);
      }
    }
  }
  return index_detail::CollectReportRows(rows, out, row_candidates, scores);
}

void Sketch8Index::CorruptSlackForTest(size_t j, float w) { w_.at(j) = w; }

std::vector<float> Sketch8Index::ExpUpperForTest(std::span<const float> x) {
  std::vector<float> out(x.size());
  HWY_DYNAMIC_DISPATCH(Sketch8ExpUpperT)(x.data(), x.size(), out.data());
  return out;
}

std::vector<double> Sketch8Index::UpperBounds(std::span<const float> q) const {
  keys_.ValidateQuery("sketch8 UpperBounds", q, 0.0f);
  const QueryCode qc = Quantise(q);
  return index_detail::UpperBoundsOf(keys_.n(), qc.trusted, qc.tiny, [&](float* ub) {
    HWY_DYNAMIC_DISPATCH(Sketch8BoundsT)(GetLayout(), qc, keys_.n(), nullptr, ub);
  });
}

}  // namespace hsr
#endif  // HWY_ONCE
