#include "verify/oracle_sample.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <span>

#include "core/attention/validate.h"
#include "core/base/error.h"
#include "core/base/thread_pool.h"
#include "verify/oracle.h"

namespace hsr::verify {

OracleSample ComputeOracleSample(ConstHeadsView q, const KvCache& kv, const AttentionParams& p,
                                 double budget_macs, size_t threads) {
  const size_t hq = q.heads, m = q.rows, n = kv.n(), dv = kv.dv();
  static float dummy = 0.0f;
  ValidateAttention("oracle", q, kv, p, HeadsView(m == 0 ? nullptr : &dummy, hq, m, dv, dv, 0));
  OracleSample s;
  s.dv = dv;
  s.m = m;
  s.total_rows = hq * m;
  if (s.total_rows == 0) return s;
  const double per_row = std::max(1.0, static_cast<double>(n) * static_cast<double>(q.cols + dv));
  const size_t k = static_cast<size_t>(
      std::clamp(budget_macs / per_row, 1.0, static_cast<double>(s.total_rows)));
  for (size_t t = 0; t < k; ++t) {
    // Evenly spaced, including the first and (for k > 1) the last row.
    const size_t r = k == 1 ? 0 : t * (s.total_rows - 1) / (k - 1);
    s.rows.emplace_back(r / m, r % m);
  }
  s.expected.assign(k * dv, 0.0);
  s.tolerance.assign(k * dv, 0.0);
  s.ambiguous.assign(k, 0);
  s.weighted.assign(k, 0);
  const size_t group = hq / kv.heads();
  ThreadPool pool(std::max<size_t>(threads, 1));
  pool.Run(k, [&](size_t t, size_t) {
    const auto [h, i] = s.rows[t];
    const OracleRowResult r =
        OracleRow(q.Head(h).RowSpan(i), kv.k().Head(h / group), kv.v().Head(h / group),
                  VisibleKeys(p.causal, i, m, n), p, h, m, i, static_cast<double>(kv.max_abs_k()),
                  std::span<double>(s.expected.data() + t * dv, dv),
                  std::span<double>(s.tolerance.data() + t * dv, dv));
    s.ambiguous[t] = r.ambiguous;
    s.weighted[t] = r.weighted;
  });
  return s;
}

SampleError CompareToSample(const OracleSample& s, ConstHeadsView out) {
  HSR_CHECK(out.rows == s.m && out.cols == s.dv && out.heads * out.rows == s.total_rows,
            "oracle: expected an output of [{}, {}, {}], got [{}, {}, {}]",
            s.m ? s.total_rows / s.m : 0, s.m, s.dv, out.heads, out.rows, out.cols);
  SampleError e;
  double diff2 = 0, ref2 = 0;
  for (size_t t = 0; t < s.rows.size(); ++t) {
    const auto [h, i] = s.rows[t];
    const float* o = out.Head(h).Row(i);
    const bool ambiguous = !s.ambiguous.empty() && s.ambiguous[t];
    e.ambiguous_rows += ambiguous ? 1 : 0;
    for (size_t c = 0; c < s.dv; ++c) {
      const double ref = s.expected[t * s.dv + c];
      const double err = std::isfinite(o[c]) ? std::abs(static_cast<double>(o[c]) - ref)
                                             : std::numeric_limits<double>::infinity();
      if (!s.tolerance.empty() && !(err <= s.tolerance[t * s.dv + c])) ++e.beyond_tol;
      if (ambiguous) continue;
      e.max_abs_err = std::max(e.max_abs_err, err);
      diff2 += err * err;
      ref2 += ref * ref;
    }
  }
  e.rel_l2_err = ref2 > 0 ? std::sqrt(diff2 / ref2) : (diff2 > 0 ? INFINITY : 0.0);
  return e;
}

}  // namespace hsr::verify
