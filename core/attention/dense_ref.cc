#include "core/attention/dense_ref.h"

#include <algorithm>
#include <cmath>

#include "core/attention/validate.h"

namespace hsr {

size_t DenseRefRow(std::span<const float> q, ConstMatrixView k, ConstMatrixView v,
                   size_t visible, AttentionKind kind, int alpha, double threshold, double scale,
                   std::span<double> o) {
  const size_t d = q.size();
  const size_t dv = v.cols;
  std::fill(o.begin(), o.end(), 0.0);
  if (visible == 0) return 0;
  std::vector<double> s(visible);
  for (size_t j = 0; j < visible; ++j) {
    const float* kj = k.Row(j);
    double dot = 0.0;
    for (size_t c = 0; c < d; ++c) dot += static_cast<double>(q[c]) * static_cast<double>(kj[c]);
    s[j] = scale * dot;
  }
  // Weights relative to the row maximum keep every term in [0, 1]: no overflow for any alpha.
  double denom = 0.0;
  if (kind == AttentionKind::kSoftmax) {
    const double mx = *std::max_element(s.begin(), s.end());
    for (size_t j = 0; j < visible; ++j) {
      s[j] = std::exp(s[j] - mx);
      denom += s[j];
    }
  } else {
    double top = 0.0;
    for (size_t j = 0; j < visible; ++j) top = std::max(top, s[j] - threshold);
    if (!(top > 0.0)) return 0;  // no positive weight
    for (size_t j = 0; j < visible; ++j) {
      const double x = s[j] - threshold;
      s[j] = x > 0.0 ? std::pow(x / top, alpha) : 0.0;
      denom += s[j];
    }
  }
  size_t weighted = 0;
  for (size_t j = 0; j < visible; ++j) {
    if (s[j] == 0.0) continue;
    ++weighted;
    const float* vj = v.Row(j);
    for (size_t c = 0; c < dv; ++c) o[c] += s[j] * static_cast<double>(vj[c]);
  }
  for (size_t c = 0; c < dv; ++c) o[c] /= denom;
  return weighted;
}

void DenseRefAttention(ConstHeadsView q, const KvCache& kv, const AttentionParams& p,
                       std::vector<double>* out, AttentionStats* stats) {
  const size_t hq = q.heads, m = q.rows, n = kv.n(), dv = kv.dv();
  // Validate with a shape-only output view (no data is written through it).
  static float dummy = 0.0f;
  ValidateAttention("DenseRefAttention", q, kv, p,
                    HeadsView(m == 0 ? nullptr : &dummy, hq, m, dv, dv, 0));
  out->assign(hq * m * dv, 0.0);
  const size_t group = hq / kv.heads();
  const double scale = p.ScaleFor(q.cols);
  AttentionStats local;
  for (size_t h = 0; h < hq; ++h) {
    const ConstMatrixView qh = q.Head(h);
    const ConstMatrixView kh = kv.k().Head(h / group);
    const ConstMatrixView vh = kv.v().Head(h / group);
    for (size_t i = 0; i < m; ++i) {
      const size_t visible = VisibleKeys(p.causal, i, m, n);
      std::span<double> o(out->data() + (h * m + i) * dv, dv);
      const bool ok = 0 < DenseRefRow(qh.RowSpan(i), kh, vh, visible, p.kind, p.alpha,
                                  p.ThresholdFor(h, m, i), scale, o);
      local.queries += 1;
      local.keys_scored += visible;
      local.empty_rows += ok ? 0 : 1;
    }
  }
  if (stats) stats->Merge(local);
}

namespace {

void RefToFloat(ConstHeadsView q, const KvCache& kv, const AttentionParams& p, HeadsView out,
                AttentionStats* stats, std::string_view where) {
  ValidateAttention(where, q, kv, p, out);
  std::vector<double> o;
  DenseRefAttention(q, kv, p, &o, stats);
  const size_t dv = kv.dv();
  for (size_t h = 0; h < out.heads; ++h) {
    for (size_t i = 0; i < out.rows; ++i) {
      float* row = out.Head(h).Row(i);
      for (size_t c = 0; c < dv; ++c) row[c] = static_cast<float>(o[(h * out.rows + i) * dv + c]);
    }
  }
}

}  // namespace

void DenseRefBackend::Decode(ConstHeadsView q, const KvCache& kv, const AttentionParams& p,
                             HeadsView out, AttentionStats* stats) {
  RefToFloat(q, kv, p, out, stats, "dense-ref Decode");
}

void DenseRefBackend::Prefill(ConstHeadsView q, const KvCache& kv, const AttentionParams& p,
                              HeadsView out, AttentionStats* stats) {
  RefToFloat(q, kv, p, out, stats, "dense-ref Prefill");
}

}  // namespace hsr
