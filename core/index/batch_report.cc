// BatchReport: Highway dispatch unit. See batch_report.h; reference: scan.cc (Query).
//
// Candidate test (exact reals unless marked fl). For a query q (row i) and key k:
//   t = fl tile score (score_tile-inl.h): |t - <q,k>| <= gamma_d ||q|| ||k|| + d eta.
//   s = ScoreRun(q, k): |s - scale <q,k>| <= ScoreRelErr(d) scale ||q|| ||k|| + ScoreAbsErr
//       (key_store.h; only for trusted norms, see BoundsTrusted).
//   So s > b implies <q,k> > (b - ScoreAbsErr) / scale - ScoreRelErr ||q|| ||k|| and
//   t > X := (b - ScoreAbsErr) / scale - (ScoreRelErr + gamma_d) ||q|| Kmax - d eta,
//   Kmax >= ||k|| for every key. X is evaluated in double (relative error < 2^-50 of its
//   largest term), then lowered by 2^-40 (|b| + ScoreAbsErr) / scale + 2^-40 |X| and rounded
//   down to a float thr. Every key with s > b therefore has t > thr: a key is a candidate iff
//   t > thr, and candidates are rechecked with ScoreRun against b. Untrusted norms (possible
//   float overflow) and non-finite thresholds give thr = -Inf: every key is rechecked, whatever
//   its tile score (which may have overflowed to -Inf or NaN).
#include "core/index/batch_report.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "core/base/error.h"
#include "core/base/thread_pool.h"
#include "core/index/key_store.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "core/index/batch_report.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "hwy/aligned_allocator.h"
#include "core/attention/score_tile-inl.h"
#include "core/attention/score-inl.h"

HWY_BEFORE_NAMESPACE();
namespace hsr {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
using RowOut = index_detail::ReportRow;

// Keys per tile: a multiple of ScoreTile's register block (kKeyRows), so only a block's last
// tile takes its remainder path; 48 x d floats (AVX2) stay in L1/L2.
constexpr size_t kReportTileKeys = 8 * kKeyRows;
constexpr size_t kReportBlocks = 8;     // sub-blocks of TileRows queries per task

// One task: queries [r0, r0 + count) (count <= kReportBlocks * W); thr: per query (all m).
// Candidates are rechecked with ScoreRun at once, while their key tile is in L1/L2.
void ReportTask(const BatchReportInput& in, const float* thr, size_t r0, size_t count,
                RowOut* rows) {
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df), W = TileRows(df), d = in.q.cols;
  const size_t blocks = (count + W - 1) / W;
  auto qt = hwy::AllocateAligned<float>(blocks * d * W);
  auto th = hwy::AllocateAligned<float>(blocks * W);
  auto st = hwy::AllocateAligned<float>(kReportTileKeys * W);
  std::vector<size_t> lim(blocks * W, 0), blk_end(blocks, 0);
  // The task's query rows: transposed for ScoreTile (qt) and copied contiguous for the
  // recheck's ScoreRun (same values, so the same scores bit for bit).
  auto qrows = hwy::AllocateAligned<float>(count * d);
  for (size_t sb = 0; sb < blocks; ++sb) {
    for (size_t l = 0; l < W; ++l) {
      const size_t r = sb * W + l;
      float* col = qt.get() + sb * d * W + l;
      if (r < count) {
        const float* qr = in.q.Row(r0 + r);
        std::copy_n(qr, d, qrows.get() + r * d);
        for (size_t c = 0; c < d; ++c) col[c * W] = qr[c];
        th[sb * W + l] = thr[r0 + r];
        lim[sb * W + l] = in.limits.empty() ? in.keys.rows : in.limits[r0 + r];
      } else {  // padding lane: never a candidate
        for (size_t c = 0; c < d; ++c) col[c * W] = 0.0f;
        th[sb * W + l] = std::numeric_limits<float>::infinity();
      }
      blk_end[sb] = std::max(blk_end[sb], lim[sb * W + l]);
    }
  }
  HWY_ALIGN uint8_t bits[HWY_MAX_BYTES / 4 / 8 + 8] = {};  // >= one bit per float lane
  const size_t end = *std::max_element(blk_end.begin(), blk_end.end());
  for (size_t j0 = 0; j0 < end; j0 += kReportTileKeys) {
    for (size_t sb = 0; sb < blocks; ++sb) {
      if (j0 >= blk_end[sb]) continue;
      const size_t bk = std::min(kReportTileKeys, blk_end[sb] - j0);
      ScoreTile(df, qt.get() + sb * d * W, in.keys.Row(j0), in.keys.stride, d, bk, st.get());
      const auto t0 = hn::Load(df, th.get() + sb * W);
      const auto t1 = hn::Load(df, th.get() + sb * W + N);
      // thr = -Inf (untrusted norms): every key is a candidate, also when the tile score
      // overflowed to -Inf or NaN (then t > thr is false although ScoreRun may clear b).
      const auto ninf = hn::Set(df, -std::numeric_limits<float>::infinity());
      const auto all0 = hn::Eq(t0, ninf), all1 = hn::Eq(t1, ninf);
      for (size_t jj = 0; jj < bk; ++jj) {
        const float* s = st.get() + jj * W;
        const auto m0 = hn::Or(hn::Gt(hn::Load(df, s), t0), all0);
        const auto m1 = hn::Or(hn::Gt(hn::Load(df, s + N), t1), all1);
        if (hn::AllFalse(df, m0) && hn::AllFalse(df, m1)) continue;
        const size_t j = j0 + jj;
        const float* key = in.keys.Row(j);
        for (size_t half = 0; half < 2; ++half) {
          hn::StoreMaskBits(df, half == 0 ? m0 : m1, bits);
          uint64_t word = 0;
          for (size_t byte = 0; byte < (N + 7) / 8; ++byte) word |= uint64_t{bits[byte]} << (8 * byte);
          while (word != 0) {
            const size_t l = half * N + static_cast<size_t>(__builtin_ctzll(word));
            word &= word - 1;
            const size_t lane = sb * W + l;
            if (j >= lim[lane]) continue;
            RowOut& row = rows[lane];
            ++row.candidates;
            float score;
            ScoreRun(qrows.get() + lane * d, key, in.keys.stride, d, 1, in.scale, &score);
            if (score > in.b[r0 + lane]) {
              row.ids.push_back(static_cast<uint32_t>(j));
              row.scores.push_back(score);
            }
          }
        }
      }
    }
  }
}

size_t BatchReportRowsT() { return kReportBlocks * TileRows(hn::ScalableTag<float>()); }

void BatchReportT(const BatchReportInput& in, const float* thr, ThreadPool* pool,
                  std::vector<RowOut>* rows) {
  const size_t m = in.q.rows;
  const size_t per_task = BatchReportRowsT();
  const size_t tasks = (m + per_task - 1) / per_task;
  auto run = [&](size_t t, size_t /*thread*/) {
    // Later rows see longer prefixes under causal limits: hand those out first.
    const size_t task = tasks - 1 - t;
    const size_t r0 = task * per_task, count = std::min(per_task, m - r0);
    ReportTask(in, thr, r0, count, rows->data() + r0);
  };
  if (pool == nullptr || pool->NumThreads() == 1 || tasks < 2) {
    for (size_t t = 0; t < tasks; ++t) run(t, 0);
  } else {
    pool->Run(tasks, run);
  }
}

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace hsr
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace hsr {

HWY_EXPORT(BatchReportT);
HWY_EXPORT(BatchReportRowsT);

size_t BatchReportRows() { return HWY_DYNAMIC_DISPATCH(BatchReportRowsT)(); }

uint64_t BatchReport(const BatchReportInput& in, ThreadPool* pool, ReportBatch* out,
                     std::vector<uint64_t>* row_candidates, std::vector<float>* scores) {
  using index_detail::Gamma;
  using index_detail::kEta;
  using index_detail::kOverflowGuard;
  using index_detail::NormUp;
  using index_detail::ScoreAbsErr;
  using index_detail::ScoreRelErr;
  const size_t m = in.q.rows, n = in.keys.rows, d = in.keys.cols;
  HSR_CHECK(in.q.cols == d && d >= 1, "batch report: expected queries with d={} (as K), got {}",
            d, in.q.cols);
  HSR_CHECK(in.b.size() == m, "batch report: expected {} thresholds, got {}", m, in.b.size());
  HSR_CHECK(in.limits.empty() || in.limits.size() == m,
            "batch report: expected {} prefix limits (or none), got {}", m, in.limits.size());
  for (uint32_t l : in.limits) {
    HSR_CHECK(l <= n, "batch report: expected prefix limits <= n={}, got {}", n, l);
  }
  HSR_CHECK(std::isfinite(in.scale) && in.scale > 0.0f,
            "batch report: expected a finite scale > 0, got {}", in.scale);
  HSR_CHECK(n < (size_t{1} << 32) - 1, "batch report: expected n < 2^32 - 1, got {}", n);
  const double scale = in.scale;
  const double abs_err = ScoreAbsErr(d, scale);
  const double rel = ScoreRelErr(d) + Gamma(static_cast<double>(d));
  std::vector<float> thr(m);
  for (size_t i = 0; i < m; ++i) {
    const double qn = NormUp(in.q.Row(i), d);
    const double b = in.b[i];
    const bool trusted =
        qn * in.key_norm_max * std::max(1.0, scale) < kOverflowGuard && std::isfinite(b);
    if (!trusted) {
      thr[i] = -std::numeric_limits<float>::infinity();
      continue;
    }
    const double x = (b - abs_err) / scale - rel * qn * in.key_norm_max -
                     static_cast<double>(d) * kEta;
    const double lowered = x - 0x1p-40 * ((std::fabs(b) + abs_err) / scale + std::fabs(x));
    float f = static_cast<float>(lowered);
    if (static_cast<double>(f) > lowered) f = std::nextafter(f, -std::numeric_limits<float>::infinity());
    thr[i] = f;
  }
  std::vector<index_detail::ReportRow> rows(m);
  if (m > 0 && n > 0) HWY_DYNAMIC_DISPATCH(BatchReportT)(in, thr.data(), pool, &rows);
  return index_detail::CollectReportRows(rows, out, row_candidates, scores);
}

uint64_t index_detail::CollectReportRows(const std::vector<ReportRow>& rows, ReportBatch* out,
                                         std::vector<uint64_t>* row_candidates,
                                         std::vector<float>* scores) {
  const size_t m = rows.size();
  uint64_t candidates = 0;
  if (row_candidates) row_candidates->assign(m, 0);
  out->offsets.assign(m + 1, 0);
  out->ids.clear();
  if (scores) scores->clear();
  size_t total = 0;
  for (const auto& r : rows) total += r.ids.size();
  out->ids.reserve(total);
  if (scores) scores->reserve(total);
  for (size_t i = 0; i < m; ++i) {
    candidates += rows[i].candidates;
    if (row_candidates) (*row_candidates)[i] = rows[i].candidates;
    out->ids.insert(out->ids.end(), rows[i].ids.begin(), rows[i].ids.end());
    if (scores) scores->insert(scores->end(), rows[i].scores.begin(), rows[i].scores.end());
    out->offsets[i + 1] = out->ids.size();
  }
  return candidates;
}

}  // namespace hsr
#endif  // HWY_ONCE
