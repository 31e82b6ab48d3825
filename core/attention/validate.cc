#include "core/attention/validate.h"

#include <cmath>

#include "core/base/error.h"

namespace hsr {

float CheckHeads(std::string_view where, std::string_view name, ConstHeadsView x) {
  HSR_CHECK(x.cols >= 1, "{}: {} expected d >= 1, got d={}", where, name, x.cols);
  HSR_CHECK(x.heads >= 1, "{}: {} expected at least 1 head, got 0", where, name);
  HSR_CHECK(x.stride >= x.cols, "{}: {} expected row stride >= {}, got {}", where, name, x.cols,
            x.stride);
  HSR_CHECK(x.rows == 0 || x.data != nullptr, "{}: {} expected data, got a null pointer", where,
            name);
  float max_abs = 0.0f;
  for (size_t h = 0; h < x.heads; ++h) {
    for (size_t r = 0; r < x.rows; ++r) {
      const float* row = x.data + h * x.head_stride + r * x.stride;
      for (size_t c = 0; c < x.cols; ++c) {
        const float a = std::fabs(row[c]);
        if (!(a <= 3.4028235e38f)) {  // NaN or Inf
          Fail("{}: {} expected finite values, got {} at [head {}, row {}, col {}]", where, name,
               row[c], h, r, c);
        }
        max_abs = a > max_abs ? a : max_abs;
      }
    }
  }
  return max_abs;
}

KvCache::KvCache(ConstHeadsView k, ConstHeadsView v) {
  max_abs_k_ = CheckHeads("KvCache", "K", k);
  CheckHeads("KvCache", "V", v);
  HSR_CHECK(k.heads == v.heads, "KvCache: expected V with {} heads (as K), got {}", k.heads,
            v.heads);
  HSR_CHECK(k.rows == v.rows, "KvCache: expected V with {} rows (as K), got {}", k.rows, v.rows);
  k_ = k;
  v_ = v;
  identity_ = std::make_shared<char>(0);
}

void ValidateAttention(std::string_view where, ConstHeadsView q, const KvCache& kv,
                       const AttentionParams& p, HeadsView out) {
  HSR_CHECK(kv.heads() >= 1, "{}: expected a KvCache with at least 1 head, got 0", where);
  const float max_q = CheckHeads(where, "Q", q);
  HSR_CHECK(q.cols == kv.d(), "{}: expected Q with d={} (as K), got d={}", where, kv.d(), q.cols);
  HSR_CHECK(q.heads % kv.heads() == 0,
            "{}: expected query heads to be a multiple of kv heads ({}), got {}", where,
            kv.heads(), q.heads);
  HSR_CHECK(out.heads == q.heads && out.rows == q.rows && out.cols == kv.dv(),
            "{}: expected output [{}, {}, {}], got [{}, {}, {}]", where, q.heads, q.rows, kv.dv(),
            out.heads, out.rows, out.cols);
  HSR_CHECK(out.stride >= out.cols && (out.rows == 0 || out.data != nullptr),
            "{}: expected output stride >= {} and data, got stride {}", where, out.cols,
            out.stride);
  if (p.scale) {
    HSR_CHECK(std::isfinite(*p.scale) && *p.scale > 0.0f,
              "{}: expected a finite scale > 0, got {}", where, *p.scale);
  }
  if (p.kind == AttentionKind::kRelu) {
    HSR_CHECK(p.alpha >= 1 && p.alpha <= 16, "{}: expected integer alpha in [1, 16], got {}",
              where, p.alpha);
    HSR_CHECK(std::isfinite(p.b), "{}: expected a finite threshold b, got {}", where, p.b);
    if (!p.b_per_query.empty()) {
      HSR_CHECK(p.b_per_query.size() == q.heads * q.rows,
                "{}: expected {} per-query thresholds (Hq * m), got {}", where, q.heads * q.rows,
                p.b_per_query.size());
      for (float b : p.b_per_query) {
        HSR_CHECK(std::isfinite(b), "{}: expected finite per-query thresholds, got {}", where, b);
      }
    }
  }
  // |s| <= scale * d * max|q| * max|k|; keep it far from float overflow so that exp(s - M)
  // and (s - b)^alpha (computed relative to their row maximum) stay finite.
  const double bound = static_cast<double>(p.ScaleFor(q.cols)) * static_cast<double>(q.cols) *
                       static_cast<double>(max_q) * static_cast<double>(kv.max_abs_k());
  HSR_CHECK(bound <= 1e30, "{}: expected |scale * <q, k>| <= 1e30, got a bound of {:g}", where,
            bound);
}

}  // namespace hsr
