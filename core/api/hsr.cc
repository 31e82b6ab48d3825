// The public API (<hsr/hsr.h>) over the engines: DecodeSession owns one DecodeEngine (K/V
// copied, so Append may extend them), Prefill calls HsrPrefill, DenseReference calls
// DenseRefAttention with the thresholds ResolveThresholds gives (the engines' own, bit for bit).
#include <hsr/hsr.h>

#include <algorithm>
#include <string_view>
#include <utility>

#include "core/api/session_access.h"
#include "core/attention/dense_ref.h"
#include "core/attention/kv_cache.h"
#include "core/base/error.h"
#include "core/hsr/decode_engine.h"
#include "core/hsr/prefill_engine.h"
#include "core/hsr/threshold.h"

namespace hsr {
namespace {

ConstHeadsView View(std::string_view where, std::string_view name, ConstArray3 a) {
  HSR_CHECK(a.data != nullptr || a.heads * a.rows * a.cols == 0,
            "{}: expected {} data, got a null pointer", where, name);
  return ConstHeadsView(a.data, a.heads, a.rows, a.cols);
}

HeadsView View(std::string_view where, std::string_view name, Array3 a) {
  HSR_CHECK(a.data != nullptr || a.heads * a.rows * a.cols == 0,
            "{}: expected {} data, got a null pointer", where, name);
  return HeadsView(a.data, a.heads, a.rows, a.cols);
}

AttentionParams Params(const Options& o, bool causal) {
  AttentionParams p;
  p.kind = o.attention == Attention::kRelu ? AttentionKind::kRelu : AttentionKind::kSoftmax;
  p.alpha = o.alpha;
  p.scale = o.scale;
  p.causal = causal;
  return p;
}

HsrOptions EngineOptions(const Options& o) {
  HsrOptions e;
  e.index = o.index;
  e.threads = o.threads;
  e.threshold = ParseThreshold(o.threshold);
  return e;
}

Stats ToStats(const HsrCallStats& st) {
  Stats s;
  s.rows.reserve(st.rows.size());
  for (const HsrRowStats& r : st.rows) {
    s.rows.push_back(RowStats{r.b, r.visible, r.reported, r.candidates, r.bytes_read, r.eps,
                              r.empty, r.fallback});
    s.reported += r.reported;
    s.candidates += r.candidates;
    s.bytes += r.bytes_read;
    s.max_eps = std::max(s.max_eps, r.eps);
  }
  s.fallbacks = st.attention.fallbacks;
  s.empty_rows = st.attention.empty_rows;
  s.threshold = st.threshold;
  s.reporter = st.reporter;
  return s;
}

}  // namespace

struct DecodeSession::Impl {
  Options options;
  AttentionParams params;
  DecodeEngine engine;

  Impl(const KvCache& kv, const Options& o)
      : options(o),
        params(Params(o, /*causal=*/false)),
        engine(kv, params.ScaleFor(kv.d()), EngineOptions(o), /*copy=*/true) {}
};

DecodeSession::DecodeSession(ConstArray3 k, ConstArray3 v, const Options& options) {
  constexpr std::string_view kWhere = "DecodeSession";
  const KvCache kv(View(kWhere, "K", k), View(kWhere, "V", v));
  impl_ = std::make_unique<Impl>(kv, options);
}

DecodeSession::~DecodeSession() = default;
DecodeSession::DecodeSession(DecodeSession&&) noexcept = default;
DecodeSession& DecodeSession::operator=(DecodeSession&&) noexcept = default;

void DecodeSession::Append(std::span<const float> k, std::span<const float> v) {
  HSR_CHECK(impl_ != nullptr, "Append: expected a session, got a moved-from one");
  const DecodeEngine& e = impl_->engine;
  const size_t hk = e.kv_heads();
  HSR_CHECK(k.size() == hk * e.d(), "Append: expected k of {} floats (kv_heads {} x d {}), got {}",
            hk * e.d(), hk, e.d(), k.size());
  HSR_CHECK(v.size() == hk * e.dv(),
            "Append: expected v of {} floats (kv_heads {} x dv {}), got {}", hk * e.dv(), hk,
            e.dv(), v.size());
  impl_->engine.Append(ConstMatrixView(k.data(), hk, e.d()), ConstMatrixView(v.data(), hk, e.dv()));
}

Stats DecodeSession::Decode(ConstArray3 q, Array3 out) {
  constexpr std::string_view kWhere = "Decode";
  HSR_CHECK(impl_ != nullptr, "Decode: expected a session, got a moved-from one");
  HsrCallStats st;
  impl_->engine.Decode(View(kWhere, "Q", q), impl_->params, View(kWhere, "out", out), &st);
  return ToStats(st);
}

size_t DecodeSession::kv_heads() const { return impl_ ? impl_->engine.kv_heads() : 0; }
size_t DecodeSession::n() const { return impl_ ? impl_->engine.n() : 0; }
size_t DecodeSession::d() const { return impl_ ? impl_->engine.d() : 0; }
size_t DecodeSession::dv() const { return impl_ ? impl_->engine.dv() : 0; }
const Options& DecodeSession::options() const {
  HSR_CHECK(impl_ != nullptr, "options: expected a session, got a moved-from one");
  return impl_->options;
}

const DecodeEngine& SessionAccess::Engine(const DecodeSession& session) {
  HSR_CHECK(session.impl_ != nullptr, "SessionAccess: expected a session, got a moved-from one");
  return session.impl_->engine;
}

Stats Prefill(ConstArray3 q, ConstArray3 k, ConstArray3 v, bool causal, const Options& options,
              Array3 out) {
  constexpr std::string_view kWhere = "Prefill";
  const KvCache kv(View(kWhere, "K", k), View(kWhere, "V", v));
  HsrCallStats st;
  HsrPrefill(View(kWhere, "Q", q), kv, Params(options, causal), EngineOptions(options),
             View(kWhere, "out", out), &st);
  return ToStats(st);
}

std::vector<double> DenseReference(ConstArray3 q, ConstArray3 k, ConstArray3 v, bool causal,
                                   const Options& options) {
  constexpr std::string_view kWhere = "DenseReference";
  const KvCache kv(View(kWhere, "K", k), View(kWhere, "V", v));
  const ConstHeadsView qv = View(kWhere, "Q", q);
  AttentionParams p = Params(options, causal);
  const ThresholdPolicy policy = ParseThreshold(options.threshold);
  std::vector<float> b;
  if (p.kind == AttentionKind::kRelu) {
    HSR_CHECK(policy.kind != ThresholdPolicy::Kind::kErr,
              "{}: expected a ReLU threshold policy (b=, paper, count=, frac=), got '{}' (err= "
              "applies to softmax)", kWhere, policy.ToString());
    b = ResolveThresholds(qv, kv, p.ScaleFor(kv.d()), policy, causal, nullptr);
    p.b_per_query = b;
  }
  std::vector<double> out;
  DenseRefAttention(qv, kv, p, &out, nullptr);
  return out;
}

}  // namespace hsr
