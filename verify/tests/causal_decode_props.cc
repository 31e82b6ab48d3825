// Property: the causal mask in Decode (core/attention/backend.h). With params.causal, Decode of
// m > 1 query rows (bottom-right aligned: row i sees keys j <= i + n - m, i + n - m + 1 keys)
// gives the output Prefill gives on the same rows, and both equal the float64 oracle with the
// mask, for dense-ref, dense-hwy (every compiled Highway target) and hsr-cpu (ReLU^alpha exact
// with the call's b or a threshold policy; softmax within its certificate). The shapes, layouts
// and thresholds come from the one case generator (verify/cases.h) with causal on and m >= 2,
// n from 0 up (n < m too: the first rows see no key and are empty).
// Equality: dense-ref and dense-hwy run the same kernel for both calls, so their outputs must be
// bit-identical; hsr-cpu's Decode answers row by row through its index while its Prefill uses
// the batched report, so they must agree on every row's threshold and reported set (the same
// keys, bit for bit the same b) and each be within the oracle's derived tolerance.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <hwy/targets.h>

#include <bit>
#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/attention/dense_hwy.h"
#include "core/attention/dense_ref.h"
#include "core/hsr/hsr_backend.h"
#include "core/hsr/threshold.h"
#include "verify/cert_check.h"
#include "verify/oracle.h"
#include "verify/targets.h"
#include "verify/tests/attention_case.h"

namespace hsr::verify {
namespace {

// A generated case with the causal mask and several query rows.
AttentionCase CausalCase() {
  AttentionCase c = *GenAttentionCase();
  c.causal = true;
  c.m = std::max<size_t>(c.m, *rc::gen::inRange<size_t>(2, 9));
  return c;
}

struct Outputs {
  std::vector<float> decode, prefill;
};

// Decode and Prefill of the same rows through one backend, each into its own [Hq, m, dv] buffer.
Outputs RunBoth(AttentionBackend& backend, const CaseBuffers& buf, const AttentionCase& c,
                const AttentionParams& p, AttentionStats* decode_stats = nullptr) {
  Outputs o;
  o.decode.assign(c.hq * c.m * c.dv, -7.0f);
  o.prefill.assign(c.hq * c.m * c.dv, -9.0f);
  backend.Decode(buf.Q(), buf.Kv(), p, HeadsView(o.decode.data(), c.hq, c.m, c.dv),
                 decode_stats);
  backend.Prefill(buf.Q(), buf.Kv(), p, HeadsView(o.prefill.data(), c.hq, c.m, c.dv), nullptr);
  return o;
}

ConstHeadsView View(const std::vector<float>& x, const AttentionCase& c) {
  return ConstHeadsView(x.data(), c.hq, c.m, c.dv);
}

void AssertBitIdentical(const Outputs& o, const std::string& what) {
  for (size_t x = 0; x < o.decode.size(); ++x) {
    if (std::bit_cast<uint32_t>(o.decode[x]) != std::bit_cast<uint32_t>(o.prefill[x])) {
      RC_FAIL(fmt::format("{}: Decode {} vs Prefill {} at element {}", what, o.decode[x],
                          o.prefill[x], x));
    }
  }
}

void AssertOracle(const Oracle& oracle, const std::vector<float>& out, const AttentionCase& c,
                  const std::string& what) {
  const Comparison cmp = oracle.Compare(View(out, c));
  if (!cmp.ok) RC_FAIL(fmt::format("{}: {}", what, cmp.Describe()));
}

RC_GTEST_PROP(CausalDecodeProps, DenseDecodeEqualsPrefillAndMaskedOracle, ()) {
  const AttentionCase c = CausalCase();
  RC_LOG() << c.Describe() << "\n";
  RC_CLASSIFY(c.n < c.m, "n < m (rows without keys)");
  const CaseBuffers buf(c);
  const AttentionParams& p = buf.Params();
  RC_ASSERT(p.causal);
  const Oracle oracle(buf.Q(), buf.Kv(), p);
  DenseRefBackend ref;
  AttentionStats stats;
  const Outputs r = RunBoth(ref, buf, c, p, &stats);
  AssertBitIdentical(r, "dense-ref " + c.Describe());
  AssertOracle(oracle, r.decode, c, "dense-ref Decode " + c.Describe());
  uint64_t keys = 0;
  for (size_t i = 0; i < c.m; ++i) keys += c.hq * VisibleKeys(true, i, c.m, c.n);
  RC_ASSERT(stats.keys_scored == keys);
  for (int64_t target : CompiledTargets()) {
    const ForceTarget force(target);
    DenseHwyBackend hwy(c.threads);
    const Outputs o = RunBoth(hwy, buf, c, p);
    const std::string what = fmt::format("dense-hwy {} {}", hwy::TargetName(target), c.Describe());
    AssertBitIdentical(o, what);
    AssertOracle(oracle, o.decode, c, "Decode " + what);
  }
}

std::vector<float> RowThresholds(const HsrCallStats& st) {
  std::vector<float> b;
  for (const auto& r : st.rows) b.push_back(r.b);
  return b;
}

RC_GTEST_PROP(CausalDecodeProps, HsrCpuDecodeEqualsPrefillAndMaskedOracle, ()) {
  const AttentionCase c = CausalCase();
  const bool softmax = c.kind == AttentionKind::kSoftmax;
  RC_LOG() << c.Describe() << "\n";
  const CaseBuffers buf(c);
  AttentionParams p = buf.Params();
  HsrCpuBackend hsr(c.threads, *rc::gen::element<std::string>("sketch8", "scan"));
  std::optional<ThresholdPolicy> policy;
  if (softmax) {
    policy = ParseThreshold(*rc::gen::element<std::string>("paper", "err=0.01"));
  } else if (*rc::gen::arbitrary<bool>()) {
    // count=K needs K <= n (threshold.h).
    policy = ParseThreshold(c.n >= 3 ? *rc::gen::element<std::string>("paper", "count=3", "frac=0.2")
                                     : *rc::gen::element<std::string>("paper", "frac=0.2"));
  }
  hsr.SetThreshold(policy);
  if (policy) p.b_per_query = {};  // the engine resolves the policy itself
  RC_CLASSIFY(policy.has_value(), "threshold policy");
  RC_CLASSIFY(softmax, "softmax");

  std::vector<float> dec(c.hq * c.m * c.dv, -7.0f), pre(dec.size(), -9.0f);
  hsr.Decode(buf.Q(), buf.Kv(), p, HeadsView(dec.data(), c.hq, c.m, c.dv), nullptr);
  const HsrCallStats st_dec = hsr.LastStats();
  hsr.Prefill(buf.Q(), buf.Kv(), p, HeadsView(pre.data(), c.hq, c.m, c.dv), nullptr);
  const HsrCallStats st_pre = hsr.LastStats();
  RC_ASSERT(st_dec.rows.size() == c.hq * c.m);
  RC_ASSERT(st_pre.rows.size() == c.hq * c.m);
  for (size_t t = 0; t < st_dec.rows.size(); ++t) {
    const HsrRowStats& a = st_dec.rows[t];
    const HsrRowStats& b = st_pre.rows[t];
    RC_ASSERT(a.visible == VisibleKeys(true, t % c.m, c.m, c.n));
    RC_ASSERT(a.visible == b.visible);
    if (!softmax) {
      // The same threshold and the same exact report R(q, b) among the visible keys.
      RC_ASSERT(std::bit_cast<uint32_t>(a.b) == std::bit_cast<uint32_t>(b.b));
      RC_ASSERT(a.reported == b.reported);
      RC_ASSERT(a.empty == b.empty);
    }
  }
  const std::string what = fmt::format("hsr-cpu {} {}", policy ? policy->ToString() : "b",
                                       c.Describe());
  if (softmax) {
    const Oracle oracle(buf.Q(), buf.Kv(), p);
    const double err = policy->kind == ThresholdPolicy::Kind::kErr ? 0.01 : 0.0;
    for (const auto* run : {&st_dec, &st_pre}) {
      const std::vector<float>& out = run == &st_dec ? dec : pre;
      const CertCheck cc =
          CheckSoftmaxCertificate(oracle, buf.Kv(), c.hq / c.hkv, View(out, c), run->rows, err);
      if (!cc.ok) RC_FAIL(fmt::format("{} {}: {}", run == &st_dec ? "Decode" : "Prefill", what,
                                      cc.detail));
    }
    return;
  }
  // ReLU: the oracle with the thresholds the engine used (the same for both calls).
  const std::vector<float> b = RowThresholds(st_dec);
  p.b_per_query = b;
  const Oracle oracle(buf.Q(), buf.Kv(), p);
  AssertOracle(oracle, dec, c, "Decode " + what);
  AssertOracle(oracle, pre, c, "Prefill " + what);
}

}  // namespace
}  // namespace hsr::verify
