// Properties of the HSR engines (docs/design.md §1), against the float64 oracle:
//  - ReLU^alpha over R(q, b) equals dense ReLU^alpha within the oracle's derived tolerance, for
//    alpha 1..6, random shapes, GQA, every index, every ReLU threshold policy (the per-query b
//    the engine used is handed to the oracle), causal prefill, and decode with appends
//    interleaved with queries (compared with dense on the concatenated K/V after each append).
//  - Softmax-HSR: on every element |o - o_dense| <= 2 eps max_j |v_jc| + the oracle's float
//    tolerance; 0 <= eps <= 1; err=E rows have eps <= E; empty S falls back (counted).
//  - Planted "massive activation" keys (r = n^gamma logits >= beta1 ln n, the rest
//    <= beta2 ln n, tau = beta2 ln n): eps <= n^(1 - gamma - (beta1 - beta2)).
//  - Bad input: policy strings, err= / frac= / count= ranges, Append with a wrong shape or
//    NaN: one-line hsr::Error, engine unchanged and still correct.
//  - The public API (<hsr/hsr.h>): a DecodeSession stays exact through appends (its indexes
//    report scan's set over the same keys; ReLU within the oracle, softmax within the
//    certificate); Prefill likewise; DenseReference is the oracle's expected output exactly
//    (the same thresholds); bad input is one-line hsr::Error, the session unchanged.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <hwy/targets.h>

#include <hsr/hsr.h>

#include "core/api/session_access.h"
#include "core/attention/kv_cache.h"
#include "core/base/error.h"
#include "core/hsr/decode_engine.h"
#include "core/hsr/prefill_engine.h"
#include "core/hsr/sample_scores.h"
#include "core/hsr/threshold.h"
#include "core/index/batch_report.h"
#include "core/index/half_space_index.h"
#include "verify/cert_check.h"
#include "verify/targets.h"
#include "verify/tests/kv_append.h"
#include "verify/oracle.h"

namespace hsr::verify {
namespace {

struct Case {
  size_t hkv = 1, group = 1, m = 1, n = 0, d = 1, dv = 1;
  uint64_t seed = 0;
  std::vector<float> q, k, v;  // [Hq, m, d], [Hkv, n, d], [Hkv, n, dv]
  size_t hq() const { return hkv * group; }
  ConstHeadsView Q() const { return {q.data(), hq(), m, d}; }
  KvCache Kv() const { return KvCache(ConstHeadsView(k.data(), hkv, n, d),
                                      ConstHeadsView(v.data(), hkv, n, dv)); }
  std::string Describe() const {
    return fmt::format("Hkv={} group={} m={} n={} d={} dv={} seed={}", hkv, group, m, n, d, dv,
                       seed);
  }
};

void Fill(std::vector<float>* x, size_t count, std::mt19937_64* rng, float sd) {
  std::normal_distribution<float> g(0.0f, sd);
  x->resize(count);
  for (auto& e : *x) e = g(*rng);
}

Case DrawCase(size_t max_n) {
  Case c;
  c.hkv = *rc::gen::inRange<size_t>(1, 3);
  c.group = *rc::gen::element<size_t>(1, 2, 3);
  c.m = *rc::gen::inRange<size_t>(1, 4);
  c.n = *rc::gen::inRange<size_t>(1, max_n);
  c.d = *rc::gen::element<size_t>(1, 3, 8, 9, 16, 17, 32, 64);
  c.dv = *rc::gen::element<size_t>(1, 7, 8, 16, 33);
  c.seed = *rc::gen::arbitrary<uint64_t>();
  std::mt19937_64 rng(c.seed);
  // Score sd ~ 1..3 (q sd x k sd, scale 1/sqrt(d)).
  Fill(&c.q, c.hq() * c.m * c.d, &rng, 1.5f);
  Fill(&c.k, c.hkv * c.n * c.d, &rng, 1.0f);
  Fill(&c.v, c.hkv * c.n * c.dv, &rng, 1.0f);
  return c;
}

ThresholdPolicy DrawReluPolicy(size_t n) {
  const int kind = *rc::gen::inRange(0, 4);
  ThresholdPolicy policy;
  switch (kind) {
    case 0: policy = ParseThreshold(fmt::format("b={}", *rc::gen::element(-1.0, 0.0, 0.5, 1.5))); break;
    case 1: policy = ParseThreshold("paper"); break;
    case 2: policy = ParseThreshold(fmt::format("count={}", *rc::gen::inRange<size_t>(1, n + 1))); break;
    default: policy = ParseThreshold(fmt::format("frac={}", *rc::gen::element(0.01, 0.1, 0.5, 1.0)));
  }
  // Small samples too, so causal prefill rows share samples (SampleRange) at these n.
  policy.sample = *rc::gen::element<size_t>(1024, 2, 7, 64);
  return policy;
}

std::vector<float> Thresholds(const HsrCallStats& st) {
  std::vector<float> b;
  for (const auto& r : st.rows) b.push_back(r.b);
  return b;
}

// ReLU: HSR output vs the oracle run with the engine's per-query thresholds.
void CheckRelu(const Case& c, const KvCache& kv, const AttentionParams& p0,
               const std::vector<float>& out, const HsrCallStats& st, const std::string& what) {
  const std::vector<float> b = Thresholds(st);
  AttentionParams p = p0;
  p.b_per_query = b;
  const Oracle oracle(c.Q(), kv, p);
  const Comparison cmp = oracle.Compare(ConstHeadsView(out.data(), c.hq(), c.m, c.dv));
  RC_ASSERT_FALSE(st.rows.size() != c.hq() * c.m);
  if (!cmp.ok) {
    RC_FAIL(fmt::format("{}: {} alpha={} {}", what, c.Describe(), p.alpha, cmp.Describe()));
  }
}

RC_GTEST_PROP(HsrRelu, ExactVsOracleEveryIndexAndPolicy, ()) {
  const Case c = DrawCase(300);
  const KvCache kv = c.Kv();
  AttentionParams p;
  p.kind = AttentionKind::kRelu;
  p.alpha = *rc::gen::inRange(1, 7);
  const std::string index = *rc::gen::elementOf(IndexNames());
  HsrOptions o;
  o.index = index;
  o.threads = *rc::gen::inRange<size_t>(1, 3);
  o.index_threads = *rc::gen::element<size_t>(0, 1);
  o.threshold = DrawReluPolicy(c.n);
  o.index_options.leaf_size = 4;
  DecodeEngine engine(kv, p.ScaleFor(c.d), o, /*copy=*/*rc::gen::arbitrary<bool>());
  std::vector<float> out(c.hq() * c.m * c.dv, -7.0f);
  HsrCallStats st;
  engine.Decode(c.Q(), p, HeadsView(out.data(), c.hq(), c.m, c.dv), &st);
  RC_CLASSIFY(st.attention.empty_rows > 0, "some empty rows");
  CheckRelu(c, kv, p, out, st, fmt::format("decode index={} policy={}", index,
                                                 o.threshold->ToString()));
  for (const auto& r : st.rows) RC_ASSERT(r.reported <= r.visible);
  // The engine's per-row path and ResolveThresholds: the same thresholds bit for bit.
  const std::vector<float> resolved =
      ResolveThresholds(c.Q(), kv, p.ScaleFor(c.d), *o.threshold, /*causal=*/false, nullptr);
  for (size_t t = 0; t < st.rows.size(); ++t) RC_ASSERT(resolved[t] == st.rows[t].b);
}

RC_GTEST_PROP(HsrRelu, CausalPrefillVsOracle, ()) {
  Case c = DrawCase(200);
  c.m = *rc::gen::inRange<size_t>(1, c.n + 3);  // m > n too: early rows see no key
  std::mt19937_64 rng(c.seed + 1);
  Fill(&c.q, c.hq() * c.m * c.d, &rng, 1.5f);
  const KvCache kv = c.Kv();
  AttentionParams p;
  p.kind = AttentionKind::kRelu;
  p.alpha = *rc::gen::inRange(1, 7);
  p.causal = *rc::gen::arbitrary<bool>();
  HsrOptions o;
  o.index = *rc::gen::elementOf(IndexNames());
  o.threads = *rc::gen::inRange<size_t>(1, 3);
  o.threshold = DrawReluPolicy(c.n);
  std::vector<float> out(c.hq() * c.m * c.dv, -7.0f);
  HsrCallStats st;
  HsrPrefill(c.Q(), kv, p, o, HeadsView(out.data(), c.hq(), c.m, c.dv), &st);
  CheckRelu(c, kv, p, out, st, fmt::format("prefill causal={} index={} policy={}",
                                                  p.causal, o.index, o.threshold->ToString()));
  for (size_t t = 0; t < st.rows.size(); ++t) {
    RC_ASSERT(st.rows[t].visible == VisibleKeys(p.causal, t % c.m, c.m, c.n));
  }
  // ResolveThresholds (what bench hands dense backends) gives the engine's thresholds exactly.
  const std::vector<float> resolved =
      ResolveThresholds(c.Q(), kv, p.ScaleFor(c.d), *o.threshold, p.causal, nullptr);
  for (size_t t = 0; t < st.rows.size(); ++t) {
    if (st.rows[t].visible > 0) RC_ASSERT(resolved[t] == st.rows[t].b);
  }
  // The batched report (default) and per-row index queries: same thresholds, same sets.
  RC_ASSERT(o.prefill_report == PrefillReport::kAuto);  // = kBatch for ReLU
  HsrOptions oi = o;
  oi.prefill_report = PrefillReport::kIndex;
  std::vector<float> out_i(out.size(), -7.0f);
  HsrCallStats st_i;
  HsrPrefill(c.Q(), kv, p, oi, HeadsView(out_i.data(), c.hq(), c.m, c.dv), &st_i);
  CheckRelu(c, kv, p, out_i, st_i, "prefill via index queries");
  RC_ASSERT(st_i.rows.size() == st.rows.size());
  for (size_t t = 0; t < st.rows.size(); ++t) {
    RC_ASSERT(st_i.rows[t].b == st.rows[t].b);
    RC_ASSERT(st_i.rows[t].reported == st.rows[t].reported);
  }
}

// One generated token: draws its key and value per kv head ([Hkv, d], [Hkv, dv]), hands them
// to append (the engine or session under test), extends the model K/V of c to match (the new
// row at the end of each head), and draws the next queries.
template <typename Append>
void AppendToken(Case* c, std::mt19937_64* rng, const Append& append) {
  std::vector<float> nk, nv;
  Fill(&nk, c->hkv * c->d, rng, 1.0f);
  Fill(&nv, c->hkv * c->dv, rng, 1.0f);
  append(nk, nv);
  c->k = AppendRowPerHead(c->k, nk, c->hkv, c->n, c->d);
  c->v = AppendRowPerHead(c->v, nv, c->hkv, c->n, c->dv);
  ++c->n;
  Fill(&c->q, c->hq() * c->m * c->d, rng, 1.5f);
}

// Two calls' rows that report the same sets at the same thresholds: b, reported and fallback
// equal; with sketch8's per-key bounds on both sides (sketch) eps_sketch present alike and within
// 1.3e-4 relative (the tails differ only in summation order; the derivation is in
// HsrSoftmax.CertificateBoundsErrorEveryIndexAndPolicy).
void AssertSameRows(const HsrCallStats& x, const HsrCallStats& y, bool sketch) {
  RC_ASSERT(x.rows.size() == y.rows.size());
  for (size_t t = 0; t < x.rows.size(); ++t) {
    const HsrRowStats &a = x.rows[t], &b = y.rows[t];
    RC_ASSERT(a.b == b.b);
    RC_ASSERT(a.reported == b.reported);
    RC_ASSERT(a.fallback == b.fallback);
    if (!sketch) continue;
    RC_ASSERT((a.eps_sketch >= 0.0) == (b.eps_sketch >= 0.0));
    if (a.eps_sketch >= 0.0) {
      RC_ASSERT(std::fabs(a.eps_sketch - b.eps_sketch) <=
                1.3e-4 * std::max(a.eps_sketch, b.eps_sketch));
    }
  }
}

RC_GTEST_PROP(HsrRelu, AppendsInterleavedWithQueries, ()) {
  Case c = DrawCase(64);
  const size_t steps = *rc::gen::inRange<size_t>(1, 12);
  AttentionParams p;
  p.kind = AttentionKind::kRelu;
  p.alpha = *rc::gen::inRange(1, 7);
  HsrOptions o;
  o.index = *rc::gen::elementOf(IndexNames());
  o.threshold = DrawReluPolicy(c.n);
  o.index_options.leaf_size = 4;
  // Start in view mode half the time: the first Append must copy.
  std::vector<float> k0 = c.k, v0 = c.v;
  DecodeEngine engine(KvCache(ConstHeadsView(k0.data(), c.hkv, c.n, c.d),
                              ConstHeadsView(v0.data(), c.hkv, c.n, c.dv)),
                      p.ScaleFor(c.d), o, *rc::gen::arbitrary<bool>());
  std::mt19937_64 rng(c.seed + 2);
  for (size_t s = 0; s < steps; ++s) {
    AppendToken(&c, &rng, [&](const std::vector<float>& nk, const std::vector<float>& nv) {
      engine.Append(ConstMatrixView(nk.data(), c.hkv, c.d),
                    ConstMatrixView(nv.data(), c.hkv, c.dv));
    });
    RC_ASSERT(engine.n() == c.n);
    std::vector<float> out(c.hq() * c.m * c.dv, -7.0f);
    HsrCallStats st;
    engine.Decode(c.Q(), p, HeadsView(out.data(), c.hq(), c.m, c.dv), &st);
    CheckRelu(c, c.Kv(), p, out, st, fmt::format("after append {} index={}", s, o.index));
    // The engine keeps its sample ids across calls: after an append they are the new n's.
    const std::vector<float> resolved =
        ResolveThresholds(c.Q(), c.Kv(), p.ScaleFor(c.d), *o.threshold, /*causal=*/false,
                          nullptr);
    for (size_t t = 0; t < st.rows.size(); ++t) RC_ASSERT(resolved[t] == st.rows[t].b);
  }
}

// Rows sharing a kv head screened together (HsrOptions::batch_rows, Sketch8Index::
// ReportPrefixBatch per kv head) against one sketch8 query per row (batch_rows = false), on the
// same cache, before and after appends: ReLU^alpha and softmax at `paper` / b= / count=, grouped
// heads and m > 1, sometimes more keys than one key part (16384). The same thresholds, sets and
// candidates, so bit-identical outputs (same ids in the same order, same ScoreRun scores, same
// weights and gather); softmax eps_sketch differs only in the tail's summation order (per tile
// and key part vs per 256-key chunk: each within 2^-14 of the exact sum, sketch8.cc), so by
// < 1.3e-4 relative (AssertSameRows).
RC_GTEST_PROP(HsrEngine, GroupedScreenEqualsPerRowQueries, ()) {
  Case c = DrawCase(300);
  if (*rc::gen::weightedElement<int>({{7, 0}, {1, 1}}) == 1) {  // several key parts
    c.n = *rc::gen::inRange<size_t>(16385, 20000);
    c.d = *rc::gen::element<size_t>(8, 17);
    std::mt19937_64 rng(c.seed + 3);
    Fill(&c.k, c.hkv * c.n * c.d, &rng, 1.0f);
    Fill(&c.v, c.hkv * c.n * c.dv, &rng, 1.0f);
    Fill(&c.q, c.hq() * c.m * c.d, &rng, 1.5f);
  }
  RC_LOG() << c.Describe() << "\n";
  RC_CLASSIFY(c.group * c.m >= 2, "rows share a kv head");
  RC_CLASSIFY(c.n > 16384, "several key parts");
  AttentionParams p;
  const bool relu = *rc::gen::arbitrary<bool>();
  p.kind = relu ? AttentionKind::kRelu : AttentionKind::kSoftmax;
  p.alpha = *rc::gen::inRange(1, 4);
  HsrOptions o;
  o.threads = *rc::gen::inRange<size_t>(1, 3);
  o.threshold = DrawReluPolicy(c.n);
  HsrOptions single = o;
  single.batch_rows = false;
  std::vector<float> k0 = c.k, v0 = c.v;
  const KvCache kv(ConstHeadsView(k0.data(), c.hkv, c.n, c.d),
                   ConstHeadsView(v0.data(), c.hkv, c.n, c.dv));
  DecodeEngine grouped(kv, p.ScaleFor(c.d), o), rows(kv, p.ScaleFor(c.d), single);
  std::mt19937_64 rng(c.seed + 2);
  const size_t steps = *rc::gen::inRange<size_t>(0, 3);
  for (size_t s = 0; s <= steps; ++s) {
    if (s > 0) {
      AppendToken(&c, &rng, [&](const std::vector<float>& nk, const std::vector<float>& nv) {
        for (DecodeEngine* e : {&grouped, &rows}) {
          e->Append(ConstMatrixView(nk.data(), c.hkv, c.d), ConstMatrixView(nv.data(), c.hkv, c.dv));
        }
      });
    }
    std::vector<float> out_g(c.hq() * c.m * c.dv, -7.0f), out_r(out_g.size(), -8.0f);
    HsrCallStats sg, sr;
    grouped.Decode(c.Q(), p, HeadsView(out_g.data(), c.hq(), c.m, c.dv), &sg);
    rows.Decode(c.Q(), p, HeadsView(out_r.data(), c.hq(), c.m, c.dv), &sr);
    RC_ASSERT(sg.reporter == "sketch8");
    AssertSameRows(sg, sr, /*sketch=*/true);
    for (size_t t = 0; t < sg.rows.size(); ++t) {
      RC_ASSERT(sg.rows[t].candidates == sr.rows[t].candidates);
      RC_ASSERT(sg.rows[t].empty == sr.rows[t].empty);
    }
    for (size_t i = 0; i < out_g.size(); ++i) {
      RC_ASSERT(std::bit_cast<uint32_t>(out_g[i]) == std::bit_cast<uint32_t>(out_r[i]));
    }
    if (relu) CheckRelu(c, c.Kv(), p, out_g, sg, fmt::format("grouped screen, step {}", s));
  }
}

// Softmax: measured error <= 2 eps max_j |v_jc| + 2 x the oracle's tolerance on every element
// (verify/cert_check.h, the same check `hsr verify` runs).
void CheckSoftmax(const Case& c, const KvCache& kv, const AttentionParams& p,
                  const std::vector<float>& out, const HsrCallStats& st, double err_target,
                  const std::string& what) {
  AttentionParams dense = p;
  dense.kind = AttentionKind::kSoftmax;
  dense.b_per_query = {};
  const Oracle oracle(c.Q(), kv, dense);
  const CertCheck cc = CheckSoftmaxCertificate(
      oracle, kv, c.group, ConstHeadsView(out.data(), c.hq(), c.m, c.dv), st.rows, err_target);
  if (!cc.ok) RC_FAIL(fmt::format("{}: {} {}", what, c.Describe(), cc.detail));
}

RC_GTEST_PROP(HsrSoftmax, CertificateBoundsErrorEveryIndexAndPolicy, ()) {
  const Case c = DrawCase(300);
  const KvCache kv = c.Kv();
  AttentionParams p;
  p.kind = AttentionKind::kSoftmax;
  HsrOptions o;
  o.index = *rc::gen::elementOf(IndexNames());
  o.threads = *rc::gen::inRange<size_t>(1, 3);
  o.index_options.leaf_size = 4;
  const int kind = *rc::gen::inRange(0, 3);
  double err_target = 0.0;
  if (kind == 0) {
    o.threshold = ParseThreshold("paper");
  } else if (kind == 1) {
    err_target = *rc::gen::element(0.5, 0.1, 1e-3, 1e-6);
    o.threshold = ParseThreshold(fmt::format("err={}", err_target));
  } else {
    o.threshold = DrawReluPolicy(c.n);
  }
  DecodeEngine engine(kv, p.ScaleFor(c.d), o);
  std::vector<float> out(c.hq() * c.m * c.dv, -7.0f);
  HsrCallStats st;
  engine.Decode(c.Q(), p, HeadsView(out.data(), c.hq(), c.m, c.dv), &st);
  RC_CLASSIFY(st.attention.fallbacks > 0, "fallbacks");
  CheckSoftmax(c, kv, p, out, st, err_target,
               fmt::format("softmax index={} policy={}", o.index, o.threshold->ToString()));
  // Causal prefill with the same policy: the batched screen (err= rows take the index path
  // regardless) and per-row index queries (the default for softmax), each certified against
  // the oracle.
  p.causal = true;
  std::vector<float> out2(out.size(), -7.0f);
  HsrCallStats st2;
  HsrOptions ob = o;
  ob.prefill_report = PrefillReport::kBatch;
  HsrPrefill(c.Q(), kv, p, ob, HeadsView(out2.data(), c.hq(), c.m, c.dv), &st2);
  CheckSoftmax(c, kv, p, out2, st2, err_target, "softmax causal prefill via the batched screen");
  RC_ASSERT((st2.reporter == kBatchReportName) == (kind != 1));
  HsrOptions oi = o;
  RC_ASSERT(oi.prefill_report == PrefillReport::kAuto);  // = kIndex for softmax
  std::vector<float> out3(out.size(), -7.0f);
  HsrCallStats st3;
  HsrPrefill(c.Q(), kv, p, oi, HeadsView(out3.data(), c.hq(), c.m, c.dv), &st3);
  CheckSoftmax(c, kv, p, out3, st3, err_target, "softmax causal prefill via index queries");
  if (kind == 1) return;  // err=: both calls took the index path
  // Same thresholds and sets. With sketch8 as the index both certificates come from the same
  // per-key bounds and candidates; the tails differ only in summation order (per 128-key tile
  // vs per 256-key chunk, each within 2^-14 relative of the exact sum: sketch8.cc's proof), and
  // eps = x / (Z + x) changes by at most the relative change of its tail x, so
  // |eps_batch - eps_index| <= 2^-13 max(eps) < 1.3e-4 max(eps).
  AssertSameRows(st2, st3, o.index == "sketch8");
}

RC_GTEST_PROP(HsrSoftmax, EmptySetFallsBackToDense, ()) {
  const Case c = DrawCase(100);
  const KvCache kv = c.Kv();
  AttentionParams p;
  p.kind = AttentionKind::kSoftmax;
  std::vector<float> tau(c.hq() * c.m, 1e6f);  // no score reaches it: S is empty
  p.b_per_query = tau;
  HsrOptions o;
  o.index = *rc::gen::elementOf(IndexNames());
  DecodeEngine engine(kv, p.ScaleFor(c.d), o);
  std::vector<float> out(c.hq() * c.m * c.dv, -7.0f);
  HsrCallStats st;
  engine.Decode(c.Q(), p, HeadsView(out.data(), c.hq(), c.m, c.dv), &st);
  RC_ASSERT(st.attention.fallbacks == c.hq() * c.m);
  for (const auto& r : st.rows) RC_ASSERT(r.fallback && r.eps == 0.0);
  CheckSoftmax(c, kv, p, out, st, 0.0, "fallback");
}

// Planted massive activations: q = sqrt(d) e_0 (d = 16, scale 1/4) makes s_j = k_j0 exactly.
RC_GTEST_PROP(HsrSoftmax, PlantedWorkloadMeetsPaperBound, ()) {
  const size_t n = *rc::gen::element<size_t>(256, 1024, 4096);
  const double gamma = *rc::gen::element(0.25, 0.5);
  const double beta2 = *rc::gen::element(0.0, 0.5);
  const double beta1 = beta2 + *rc::gen::element(1.0, 1.5, 2.0);
  const uint64_t seed = *rc::gen::arbitrary<uint64_t>();
  const size_t d = 16, dv = 8;
  const size_t r = static_cast<size_t>(std::ceil(std::pow(static_cast<double>(n), gamma)));
  const double ln_n = std::log(static_cast<double>(n));
  std::mt19937_64 rng(seed);
  std::vector<float> q(d, 0.0f), k, v;
  q[0] = 4.0f;
  Fill(&k, n * d, &rng, 1.0f);
  Fill(&v, n * dv, &rng, 1.0f);
  std::uniform_real_distribution<double> hi(beta1 * ln_n, beta1 * ln_n + 1.0);
  std::uniform_real_distribution<double> lo(-beta2 * ln_n - 2.0, beta2 * ln_n - 0.01);
  std::vector<size_t> perm(n);
  for (size_t j = 0; j < n; ++j) perm[j] = j;
  std::shuffle(perm.begin(), perm.end(), rng);
  for (size_t t = 0; t < n; ++t) k[perm[t] * d] = static_cast<float>(t < r ? hi(rng) : lo(rng));
  const KvCache kv(ConstHeadsView(k.data(), 1, n, d), ConstHeadsView(v.data(), 1, n, dv));
  AttentionParams p;
  p.kind = AttentionKind::kSoftmax;
  const float tau = static_cast<float>(beta2 * ln_n);
  p.b_per_query = std::span<const float>(&tau, 1);
  HsrOptions o;
  o.index = *rc::gen::elementOf(IndexNames());
  DecodeEngine engine(kv, p.ScaleFor(d), o);
  std::vector<float> out(dv);
  HsrCallStats st;
  engine.Decode(ConstHeadsView(q.data(), 1, 1, d), p, HeadsView(out.data(), 1, 1, dv), &st);
  const double bound = std::pow(static_cast<double>(n), 1.0 - gamma - (beta1 - beta2));
  const HsrRowStats& row = st.rows[0];
  RC_ASSERT(row.reported == r);  // S is exactly the planted keys
  if (!(row.eps <= bound * (1.0 + 1e-6))) {
    RC_FAIL(fmt::format("planted n={} r={} gamma={} beta1={} beta2={} seed={}: eps {} > bound {}",
                        n, r, gamma, beta1, beta2, seed, row.eps, bound));
  }
  Case c;
  c.n = n;
  c.d = d;
  c.dv = dv;
  c.q = q;
  c.k = k;
  c.v = v;
  c.seed = seed;
  CheckSoftmax(c, kv, p, out, st, 0.0, "planted");
}

// ---- Bad input.

void ExpectOneLineError(const std::function<void()>& f, const std::string& what) {
  try {
    f();
    ADD_FAILURE() << what << ": expected hsr::Error, got none";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << what << ": " << msg;
    EXPECT_FALSE(msg.empty()) << what;
  }
}

TEST(HsrBadInput, ThresholdStrings) {
  for (const char* s : {"", "paper ", "PAPER", "b=", "b=x", "b=nan", "b=inf", "b=1e39",
                        "count=0", "count=-1", "count=1.5", "count=", "frac=0", "frac=1.5",
                        "frac=-0.1", "err=0", "err=1", "err=-0.1", "err=2", "foo=1", "b"}) {
    ExpectOneLineError([&] { ParseThreshold(s); }, fmt::format("policy '{}'", s));
  }
  try {
    ParseThreshold("x");
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "threshold: expected b=VALUE|paper|count=K|frac=F|err=E, got 'x'");
  }
  for (const char* s : {"b=0.5", "b=-2", "paper", "count=3", "frac=1", "frac=0.01", "err=0.5"}) {
    EXPECT_EQ(ParseThreshold(s).ToString(), s);
  }
  ExpectOneLineError([&] { CheckThresholdFor(ParseThreshold("count=11"), 10); }, "count > n");
  EXPECT_NO_THROW(CheckThresholdFor(ParseThreshold("count=10"), 10));
}

// A small fixed GQA case (2 kv heads x group 2, d = 16, dv = 8) drawn from rng.
Case SmallCase(std::mt19937_64* rng, size_t m, size_t n) {
  Case c;
  c.hkv = 2;
  c.group = 2;
  c.m = m;
  c.n = n;
  c.d = 16;
  c.dv = 8;
  Fill(&c.q, c.hq() * c.m * c.d, rng, 1.5f);
  Fill(&c.k, c.hkv * c.n * c.d, rng, 1.0f);
  Fill(&c.v, c.hkv * c.n * c.dv, rng, 1.0f);
  return c;
}

TEST(HsrBadInput, EngineUnchangedAfterRejectedCalls) {
  std::mt19937_64 rng(7);
  const Case c = SmallCase(&rng, 2, 50);
  const KvCache kv = c.Kv();
  AttentionParams p;
  p.kind = AttentionKind::kRelu;
  p.alpha = 2;
  HsrOptions o;
  o.threshold = ParseThreshold("paper");
  ExpectOneLineError([&] {
    HsrOptions bad = o;
    bad.threshold = ParseThreshold("count=51");
    DecodeEngine e(kv, p.ScaleFor(c.d), bad);
  }, "count > n at construction");
  ExpectOneLineError([&] {
    HsrOptions bad = o;
    bad.index = "nope";
    DecodeEngine e(kv, p.ScaleFor(c.d), bad);
  }, "unknown index");
  DecodeEngine engine(kv, p.ScaleFor(c.d), o);
  std::vector<float> nk(c.hkv * c.d, 0.5f), nv(c.hkv * c.dv, 0.25f);
  std::vector<float> wrong(c.hkv * (c.d + 1), 0.5f);
  ExpectOneLineError([&] {
    engine.Append(ConstMatrixView(wrong.data(), c.hkv, c.d + 1),
                  ConstMatrixView(nv.data(), c.hkv, c.dv));
  }, "Append wrong d");
  ExpectOneLineError([&] {
    engine.Append(ConstMatrixView(nk.data(), 1, c.d), ConstMatrixView(nv.data(), 1, c.dv));
  }, "Append wrong heads");
  std::vector<float> nan_k = nk;
  nan_k[c.d + 3] = std::nanf("");
  ExpectOneLineError([&] {
    engine.Append(ConstMatrixView(nan_k.data(), c.hkv, c.d),
                  ConstMatrixView(nv.data(), c.hkv, c.dv));
  }, "Append NaN key");
  std::vector<float> inf_v = nv;
  inf_v[1] = INFINITY;
  ExpectOneLineError([&] {
    engine.Append(ConstMatrixView(nk.data(), c.hkv, c.d),
                  ConstMatrixView(inf_v.data(), c.hkv, c.dv));
  }, "Append Inf value");
  EXPECT_EQ(engine.n(), c.n);
  for (size_t h = 0; h < c.hkv; ++h) EXPECT_EQ(engine.index(h).size(), c.n);
  std::vector<float> out(c.hq() * c.m * c.dv);
  // Bad queries: wrong d, NaN, wrong out shape, err= for ReLU, wrong scale.
  std::vector<float> q_nan = c.q;
  q_nan[5] = std::nanf("");
  ExpectOneLineError([&] {
    engine.Decode(ConstHeadsView(q_nan.data(), c.hq(), c.m, c.d), p,
                  HeadsView(out.data(), c.hq(), c.m, c.dv), nullptr);
  }, "NaN query");
  ExpectOneLineError([&] {
    engine.Decode(ConstHeadsView(c.q.data(), c.hq(), c.m, c.d - 1), p,
                  HeadsView(out.data(), c.hq(), c.m, c.dv), nullptr);
  }, "query wrong d");
  ExpectOneLineError([&] {
    engine.Decode(c.Q(), p, HeadsView(out.data(), c.hq(), c.m, c.dv - 1), nullptr);
  }, "out wrong dv");
  ExpectOneLineError([&] {
    AttentionParams s = p;
    s.scale = 0.5f;
    engine.Decode(c.Q(), s, HeadsView(out.data(), c.hq(), c.m, c.dv), nullptr);
  }, "wrong scale");
  {
    HsrOptions eo = o;
    eo.threshold = ParseThreshold("err=0.01");
    DecodeEngine e2(kv, p.ScaleFor(c.d), eo);
    ExpectOneLineError([&] {
      e2.Decode(c.Q(), p, HeadsView(out.data(), c.hq(), c.m, c.dv), nullptr);
    }, "err= with relu");
  }
  // Still answers correctly.
  HsrCallStats st;
  engine.Decode(c.Q(), p, HeadsView(out.data(), c.hq(), c.m, c.dv), &st);
  std::vector<float> b = Thresholds(st);
  AttentionParams pb = p;
  pb.b_per_query = b;
  const Comparison cmp = Oracle(c.Q(), kv, pb).Compare(
      ConstHeadsView(out.data(), c.hq(), c.m, c.dv));
  EXPECT_TRUE(cmp.ok) << cmp.Describe();
  // A valid append still works after the rejected ones.
  engine.Append(ConstMatrixView(nk.data(), c.hkv, c.d), ConstMatrixView(nv.data(), c.hkv, c.dv));
  EXPECT_EQ(engine.n(), c.n + 1);
}

// Threshold sample scores (sample_scores.h): a row's scores do not depend on the rows scored
// with it (bit for bit), and each is the float dot within its rounding bound.
// Sample scores of rows alone (ScoreSample's few-row kernel) equal those of the rows scored in
// a batch (the lane-block tile path), bit for bit, under every compiled target; each is within
// the dot product's rounding bound.
RC_GTEST_PROP(SampleScores, BatchEqualsRowsAloneWithinDotBoundOnEveryTarget, ()) {
  const size_t rows = *rc::gen::inRange<size_t>(1, 41);
  const size_t n = *rc::gen::inRange<size_t>(1, 90);
  const size_t d = *rc::gen::element<size_t>(1, 3, 4, 8, 9, 16, 17, 64, 128);
  const size_t count = *rc::gen::inRange<size_t>(1, 70);
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  std::mt19937_64 rng(*rc::gen::arbitrary<uint64_t>());
  std::vector<float> q, k;
  Fill(&q, rows * d, &rng, 1.5f);
  Fill(&k, n * d, &rng, 1.0f);
  std::vector<uint32_t> ids(count);
  for (auto& id : ids) id = static_cast<uint32_t>(rng() % n);
  const ConstMatrixView qm(q.data(), rows, d), km(k.data(), n, d);
  ThresholdPolicy policy = ParseThreshold("paper");
  policy.sample = *rc::gen::element<size_t>(2, 7, 64, 1024);
  const bool causal = *rc::gen::arbitrary<bool>();
  for (int64_t target : CompiledTargets()) {
    const ForceTarget force(target);
    RC_LOG() << "target " << hwy::TargetName(target) << "\n";
    SampleScratch scratch;
    std::vector<float> all(rows * count), one(count);
    ScoreSample(qm, km, ids, scale, &scratch, all.data());
    const double u = std::ldexp(1.0, -24);
    const double gamma =
        (static_cast<double>(d) + 1) * u / (1 - (static_cast<double>(d) + 1) * u);
    for (size_t r = 0; r < rows; ++r) {
      ScoreSample(qm.RowRange(r, 1), km, ids, scale, &scratch, one.data());
      for (size_t t = 0; t < count; ++t) {
        RC_ASSERT(std::memcmp(&one[t], &all[r * count + t], sizeof(float)) == 0);
        // |fl dot - dot| <= gamma_{d+1} sum |q_c k_c| (FMA or mul+add chain, Higham 3.1), then
        // one rounding of the scale multiply (relative u); scale is exact here or rounded, so
        // the bound on scale * dot is widened by the scale's own rounding (relative u).
        double dot = 0.0, abs = 0.0;
        for (size_t c = 0; c < d; ++c) {
          const double x = static_cast<double>(q[r * d + c]) * k[ids[t] * d + c];
          dot += x;
          abs += std::fabs(x);
        }
        const double want = static_cast<double>(scale) * dot;
        const double bound = scale * (gamma * abs) * (1 + u) + std::fabs(want) * 2 * u + 1e-37;
        RC_ASSERT(std::fabs(static_cast<double>(all[r * count + t]) - want) <= bound);
      }
    }
    // Pairs of rows (the few-row kernel's two-row form) equal the batch too.
    for (size_t r = 0; r + 2 <= rows; r += 2) {
      std::vector<float> two(2 * count);
      ScoreSample(qm.RowRange(r, 2), km, ids, scale, &scratch, two.data());
      RC_ASSERT(std::memcmp(two.data(), all.data() + r * count, 2 * count * sizeof(float)) == 0);
    }
    // A causal block of rows, as the engines split them: row by row gives the same estimates.
    std::vector<ThresholdEstimate> block(rows), single(1);
    EstimateThresholdRows(policy, qm, km, scale, causal, 0, rows, &scratch, block.data(),
                          nullptr);
    for (size_t r = 0; r < rows; ++r) {
      EstimateThresholdRows(policy, qm, km, scale, causal, r, r + 1, &scratch, single.data(),
                            nullptr);
      RC_ASSERT(single[0].b == block[r].b);
      RC_ASSERT(single[0].sample == block[r].sample);
    }
    // The scratch's cached sample ids follow the policy's seed and sample size: a scratch used
    // before gives what a fresh one gives.
    ThresholdPolicy other = policy;
    other.seed = policy.seed + 1 + *rc::gen::inRange<uint64_t>(0, 3);
    other.sample = *rc::gen::element<size_t>(2, 5, 64);
    for (const ThresholdPolicy& pol : {other, policy}) {
      SampleScratch fresh;
      std::vector<ThresholdEstimate> reused(rows), want(rows);
      EstimateThresholdRows(pol, qm, km, scale, causal, 0, rows, &scratch, reused.data(),
                            nullptr);
      EstimateThresholdRows(pol, qm, km, scale, causal, 0, rows, &fresh, want.data(), nullptr);
      for (size_t r = 0; r < rows; ++r) RC_ASSERT(reused[r].b == want[r].b);
    }
  }
}

// The threshold sample's ids (threshold.h): all keys in order up to the sample size, then
// `sample` distinct ids of the visible keys; advancing from any smaller range gives the ids drawn
// anew, and one appended key changes at most one slot (the one AdvanceSampleIds reports).
RC_GTEST_PROP(ThresholdSample, ReservoirIdsDistinctAdvanceEqualsAnew, ()) {
  ThresholdPolicy policy = ParseThreshold("paper");
  policy.sample = *rc::gen::element<size_t>(2, 3, 7, 64, 200);
  policy.seed = *rc::gen::arbitrary<uint64_t>();
  const size_t to = *rc::gen::inRange<size_t>(0, 600);
  const size_t from = *rc::gen::inRange<size_t>(0, to + 1);
  const std::vector<uint32_t> ids = ThresholdSampleIds(policy, to);
  RC_ASSERT(ids.size() == std::min(to, policy.sample));
  if (to <= policy.sample) {
    for (size_t j = 0; j < ids.size(); ++j) RC_ASSERT(ids[j] == j);
  } else {
    std::vector<uint32_t> sorted = ids;
    std::sort(sorted.begin(), sorted.end());
    RC_ASSERT(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end());
    RC_ASSERT(sorted.back() < to);
  }
  std::vector<uint32_t> adv = ThresholdSampleIds(policy, from), replaced;
  AdvanceSampleIds(policy, from, to, &adv, &replaced);
  RC_ASSERT(adv == ids);
  for (const uint32_t slot : replaced) RC_ASSERT(slot < policy.sample);
  // Key by key: each appended key leaves every slot but the reported one as it was.
  std::vector<uint32_t> step = ThresholdSampleIds(policy, from);
  for (size_t key = from; key < to; ++key) {
    const std::vector<uint32_t> before = step;
    replaced.clear();
    AdvanceSampleIds(policy, key, key + 1, &step, &replaced);
    RC_ASSERT(replaced.size() <= 1);
    for (size_t j = 0; j < before.size(); ++j) {
      if (replaced.empty() || replaced[0] != j) RC_ASSERT(step[j] == before[j]);
    }
    if (!replaced.empty()) RC_ASSERT(step[replaced[0]] == key);
  }
  RC_ASSERT(step == ids);
  // A range that does not match the ids is a one-line error.
  if (from > 0 && from < policy.sample) {
    std::vector<uint32_t> wrong(from - 1);
    RC_ASSERT_THROWS_AS(AdvanceSampleIds(policy, from, to, &wrong, nullptr), Error);
  }
}

// The reservoir is a uniform sample: over 400 seeds (fixed, so the test is deterministic), the
// number of sampled ids in a quarter of the keys is hypergeometric per seed, mean s / 4 and
// variance s (1/4)(3/4)(n - s)/(n - 1) = 11.24 for s = 64, n = 1000; summed over independent
// seeds the total has mean 6400 and sd sqrt(400 * 11.24) = 67.1. A draw biased towards early or
// late keys (e.g. an off-by-one in the slot range) moves the first or last quarter's total by
// hundreds; 6 sd = 402 leaves a false failure probability of ~2e-9 for a correct reservoir.
TEST(ThresholdSample, ReservoirIsUniformOverKeys) {
  ThresholdPolicy policy = ParseThreshold("paper");
  policy.sample = 64;
  const size_t n = 1000;
  double quarter[4] = {0, 0, 0, 0};
  for (uint64_t seed = 0; seed < 400; ++seed) {
    policy.seed = seed;
    for (const uint32_t id : ThresholdSampleIds(policy, n)) quarter[id * 4 / n] += 1;
  }
  for (int qtr = 0; qtr < 4; ++qtr) {
    EXPECT_LE(std::fabs(quarter[qtr] - 6400.0), 402.0) << "quarter " << qtr;
  }
}

// A PackedSample (sample_scores.h) advanced across appends holds what one packed anew holds, and
// its scores equal ScoreSample's over the same ids bit for bit under every compiled target; the
// estimates with it equal those without it (packed scores, or its ids for larger groups).
RC_GTEST_PROP(SampleScores, PackedEqualsGatheredOnEveryTarget, ()) {
  const size_t n = *rc::gen::inRange<size_t>(1, 300);
  const size_t d = *rc::gen::element<size_t>(1, 3, 4, 8, 9, 16, 17, 64, 128);
  const size_t rows = *rc::gen::inRange<size_t>(1, 2 * kPackedRowsMax + 2);
  ThresholdPolicy policy = ParseThreshold("paper");
  policy.sample = *rc::gen::element<size_t>(2, 7, 64, 100, 1024);
  policy.seed = *rc::gen::arbitrary<uint64_t>();
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  std::mt19937_64 rng(*rc::gen::arbitrary<uint64_t>());
  std::vector<float> q, k;
  Fill(&q, rows * d, &rng, 1.5f);
  Fill(&k, n * d, &rng, 1.0f);
  const ConstMatrixView qm(q.data(), rows, d), km(k.data(), n, d);
  const size_t range = *rc::gen::inRange<size_t>(1, n + 1);
  PackedSample grown, anew;
  // Grown through a few smaller ranges (as appends do), then to `range`.
  for (size_t r = 0; r < range; r += 1 + *rc::gen::inRange<size_t>(0, 80)) {
    UpdatePackedSample(policy, km, r, &grown);
  }
  UpdatePackedSample(policy, km, range, &grown);
  UpdatePackedSample(policy, km, range, &anew);
  RC_ASSERT(grown.Holds(policy, range, d));
  RC_ASSERT(grown.ids == anew.ids);
  RC_ASSERT(grown.ids == ThresholdSampleIds(policy, range));
  // The slots' blocks and the zero blocks padding them to whole scoring passes.
  constexpr size_t kPassKeys = kPackLanes * kPackPassBlocks;
  const size_t used = (grown.ids.size() + kPassKeys - 1) / kPassKeys * kPassKeys * d;
  RC_ASSERT(grown.capacity >= used && anew.capacity >= used);
  RC_ASSERT(std::memcmp(grown.blocks.get(), anew.blocks.get(), used * sizeof(float)) == 0);
  for (int64_t target : CompiledTargets()) {
    const ForceTarget force(target);
    RC_LOG() << "target " << hwy::TargetName(target) << "\n";
    SampleScratch scratch;
    const size_t count = grown.ids.size();
    std::vector<float> packed(rows * count), gathered(rows * count);
    ScorePackedSample(qm, grown, scale, packed.data());
    ScoreSample(qm, km, grown.ids, scale, &scratch, gathered.data());
    RC_ASSERT(std::memcmp(packed.data(), gathered.data(), rows * count * sizeof(float)) == 0);
    // Non-causal rows all draw from [0, n): with a packed sample of n (when range == n) or not.
    UpdatePackedSample(policy, km, n, &anew);
    std::vector<ThresholdEstimate> with(rows), without(rows);
    SampleScratch fresh;
    EstimateThresholdRows(policy, qm, km, scale, false, 0, rows, &scratch, with.data(), nullptr,
                          nullptr, &anew);
    EstimateThresholdRows(policy, qm, km, scale, false, 0, rows, &fresh, without.data(),
                          nullptr);
    for (size_t r = 0; r < rows; ++r) {
      RC_ASSERT(with[r].b == without[r].b);
      RC_ASSERT(with[r].mu == without[r].mu && with[r].sigma == without[r].sigma);
    }
  }
}

// An engine made without indexes builds them on first need, and Append before that build
// leaves them complete.
TEST(HsrEngine, DeferredIndexBuild) {
  std::mt19937_64 rng(11);
  const Case c = SmallCase(&rng, 3, 40);
  const KvCache kv = c.Kv();
  AttentionParams p;
  p.kind = AttentionKind::kRelu;
  p.alpha = 2;
  HsrOptions o;
  o.threshold = ParseThreshold("paper");
  DecodeEngine engine(kv, p.ScaleFor(c.d), o, /*copy=*/true, /*build_index=*/false);
  EXPECT_FALSE(engine.indexed());
  EXPECT_EQ(engine.build_us(), 0.0);
  ExpectOneLineError([&] { (void)engine.index(0); }, "index before build");
  std::vector<float> nk, nv;
  Fill(&nk, c.hkv * c.d, &rng, 1.0f);
  Fill(&nv, c.hkv * c.dv, &rng, 1.0f);
  engine.Append(ConstMatrixView(nk.data(), c.hkv, c.d), ConstMatrixView(nv.data(), c.hkv, c.dv));
  std::vector<float> out(c.hq() * c.m * c.dv);
  HsrCallStats st;
  engine.Decode(c.Q(), p, HeadsView(out.data(), c.hq(), c.m, c.dv), &st);
  EXPECT_TRUE(engine.indexed());
  for (size_t h = 0; h < c.hkv; ++h) EXPECT_EQ(engine.index(h).size(), c.n + 1);
  // Versus the oracle over the concatenated K/V.
  const std::vector<float> k2 = AppendRowPerHead(c.k, nk, c.hkv, c.n, c.d);
  const std::vector<float> v2 = AppendRowPerHead(c.v, nv, c.hkv, c.n, c.dv);
  const KvCache kv2(ConstHeadsView(k2.data(), c.hkv, c.n + 1, c.d),
                    ConstHeadsView(v2.data(), c.hkv, c.n + 1, c.dv));
  AttentionParams pb = p;
  const std::vector<float> b = Thresholds(st);  // b_per_query is a view
  pb.b_per_query = b;
  const Comparison cmp = Oracle(c.Q(), kv2, pb).Compare(
      ConstHeadsView(out.data(), c.hq(), c.m, c.dv));
  EXPECT_TRUE(cmp.ok) << cmp.Describe();
}

// ---- The public API (<hsr/hsr.h>).

// The engine's row facts from the public ones, for CheckRelu / CheckSoftmax.
HsrCallStats FromPublic(const Stats& s) {
  HsrCallStats st;
  for (const RowStats& r : s.rows) {
    HsrRowStats row;
    row.b = r.threshold;
    row.visible = r.visible;
    row.reported = r.reported;
    row.candidates = r.candidates;
    row.bytes_read = r.bytes;
    row.eps = r.eps;
    row.empty = r.empty;
    row.fallback = r.fallback;
    st.rows.push_back(row);
  }
  return st;
}

ConstArray3 Array(const std::vector<float>& x, size_t heads, size_t rows, size_t cols) {
  return {x.data(), heads, rows, cols};
}

// Options drawn like the engine properties above: ReLU with every ReLU policy, softmax with
// those, paper or err=.
Options DrawOptions(size_t n, double* err_target) {
  Options o;
  const bool relu = *rc::gen::arbitrary<bool>();
  o.attention = relu ? Attention::kRelu : Attention::kSoftmax;
  o.alpha = relu ? *rc::gen::inRange(1, 7) : 1;
  o.index = *rc::gen::elementOf(IndexNames());
  o.threads = *rc::gen::inRange<size_t>(1, 3);
  if (*rc::gen::arbitrary<bool>()) o.scale = *rc::gen::element(0.1f, 0.4f);
  *err_target = 0.0;
  if (!relu && *rc::gen::arbitrary<bool>()) {
    *err_target = *rc::gen::element(0.1, 1e-3);
    o.threshold = fmt::format("err={}", *err_target);
  } else {
    o.threshold = DrawReluPolicy(n).ToString();
  }
  return o;
}

AttentionParams ParamsOf(const Options& o) {
  AttentionParams p;
  p.kind = o.attention == Attention::kRelu ? AttentionKind::kRelu : AttentionKind::kSoftmax;
  p.alpha = o.alpha;
  p.scale = o.scale;
  return p;
}

// Checks one public call against the oracle: ReLU within its tolerance with the call's
// thresholds, softmax within the certificate; and DenseReference equals the oracle's expected
// output bit for bit (it must resolve the same thresholds the call used).
void CheckPublicCall(const Case& c, const Options& o, bool causal, const std::vector<float>& out,
                     const Stats& st, double err_target, const std::string& what) {
  RC_ASSERT(st.rows.size() == c.hq() * c.m);
  const KvCache kv = c.Kv();
  AttentionParams p = ParamsOf(o);
  p.causal = causal;
  const HsrCallStats hs = FromPublic(st);
  if (p.kind == AttentionKind::kRelu) {
    CheckRelu(c, kv, p, out, hs, what);
  } else {
    CheckSoftmax(c, kv, p, out, hs, err_target, what);
  }
  const std::vector<float> b = Thresholds(hs);
  if (p.kind == AttentionKind::kRelu) p.b_per_query = b;
  const Oracle oracle(c.Q(), kv, p);
  const std::vector<double> ref = DenseReference(Array(c.q, c.hq(), c.m, c.d),
                                                 Array(c.k, c.hkv, c.n, c.d),
                                                 Array(c.v, c.hkv, c.n, c.dv), causal, o);
  RC_ASSERT(ref.size() == c.hq() * c.m * c.dv);
  for (size_t h = 0; h < c.hq(); ++h) {
    for (size_t i = 0; i < c.m; ++i) {
      for (size_t col = 0; col < c.dv; ++col) {
        RC_ASSERT(ref[(h * c.m + i) * c.dv + col] == oracle.Expected(h, i, col));
      }
    }
  }
}

RC_GTEST_PROP(HsrSession, AppendsStayExactVsDense, ()) {
  Case c = DrawCase(64);
  double err_target = 0.0;
  const Options o = DrawOptions(c.n, &err_target);
  const bool relu = o.attention == Attention::kRelu;
  std::vector<float> k0 = c.k, v0 = c.v;
  DecodeSession session(Array(k0, c.hkv, c.n, c.d), Array(v0, c.hkv, c.n, c.dv), o);
  // The session copied K/V: the caller's arrays may change.
  std::fill(k0.begin(), k0.end(), 99.0f);
  std::fill(v0.begin(), v0.end(), 99.0f);
  const float scale = ParamsOf(o).ScaleFor(c.d);
  const size_t steps = *rc::gen::inRange<size_t>(1, 10);
  std::mt19937_64 rng(c.seed + 3);
  for (size_t s = 0; s < steps; ++s) {
    AppendToken(&c, &rng, [&](const std::vector<float>& nk, const std::vector<float>& nv) {
      session.Append(nk, nv);
    });
    RC_ASSERT(session.n() == c.n);
    std::vector<float> out(c.hq() * c.m * c.dv, -7.0f);
    const Stats st = session.Decode(Array(c.q, c.hq(), c.m, c.d),
                                    Array3{out.data(), c.hq(), c.m, c.dv});
    const std::string what = fmt::format("session after append {} {} index={} policy={}", s,
                                         relu ? "relu" : "softmax", o.index, o.threshold);
    CheckPublicCall(c, o, /*causal=*/false, out, st, err_target, what);
    if (!relu) continue;
    // ReLU: the session's indexes report exactly scan's set over the same (model) keys, and
    // the call reported that many keys per row.
    const DecodeEngine& engine = SessionAccess::Engine(session);
    std::vector<uint32_t> got, want;
    for (size_t g = 0; g < c.hkv; ++g) {
      auto scan = MakeIndex("scan");
      scan->Build(c.Kv().k().Head(g), scale);
      for (size_t h = g * c.group; h < (g + 1) * c.group; ++h) {
        for (size_t i = 0; i < c.m; ++i) {
          const RowStats& row = st.rows[h * c.m + i];
          engine.index(g).Query(c.Q().Head(h).RowSpan(i), row.threshold, &got, nullptr);
          scan->Query(c.Q().Head(h).RowSpan(i), row.threshold, &want, nullptr);
          std::sort(got.begin(), got.end());
          std::sort(want.begin(), want.end());
          RC_ASSERT(got == want);
          RC_ASSERT(row.reported == want.size());
        }
      }
    }
  }
}

RC_GTEST_PROP(HsrSession, PrefillVsDense, ()) {
  Case c = DrawCase(200);
  c.m = *rc::gen::inRange<size_t>(1, c.n + 3);
  std::mt19937_64 rng(c.seed + 1);
  Fill(&c.q, c.hq() * c.m * c.d, &rng, 1.5f);
  double err_target = 0.0;
  const Options o = DrawOptions(c.n, &err_target);
  const bool causal = *rc::gen::arbitrary<bool>();
  std::vector<float> out(c.hq() * c.m * c.dv, -7.0f);
  const Stats st = Prefill(Array(c.q, c.hq(), c.m, c.d), Array(c.k, c.hkv, c.n, c.d),
                           Array(c.v, c.hkv, c.n, c.dv), causal, o,
                           Array3{out.data(), c.hq(), c.m, c.dv});
  for (size_t t = 0; t < st.rows.size(); ++t) {
    RC_ASSERT(st.rows[t].visible == VisibleKeys(causal, t % c.m, c.m, c.n));
  }
  CheckPublicCall(c, o, causal, out, st, err_target,
                  fmt::format("prefill causal={} index={} policy={}", causal, o.index,
                              o.threshold));
}

TEST(HsrSession, BadInputIsOneLineErrorAndSessionUnchanged) {
  std::mt19937_64 rng(13);
  const Case c = SmallCase(&rng, 2, 50);
  Options o;
  o.attention = Attention::kRelu;
  o.alpha = 2;
  const ConstArray3 k = Array(c.k, c.hkv, c.n, c.d), v = Array(c.v, c.hkv, c.n, c.dv);
  const ConstArray3 q = Array(c.q, c.hq(), c.m, c.d);
  ExpectOneLineError([&] { DecodeSession s(ConstArray3{nullptr, c.hkv, c.n, c.d}, v, o); },
                     "null K");
  ExpectOneLineError([&] { DecodeSession s(k, Array(c.v, c.hkv, c.n - 1, c.dv), o); },
                     "V rows differ from K");
  ExpectOneLineError([&] {
    Options bad = o;
    bad.threshold = "papr";
    DecodeSession s(k, v, bad);
  }, "bad policy");
  ExpectOneLineError([&] {
    Options bad = o;
    bad.index = "nope";
    DecodeSession s(k, v, bad);
  }, "unknown index");
  ExpectOneLineError([&] {
    Options bad = o;
    bad.threshold = "err=0.1";
    (void)DenseReference(q, k, v, false, bad);
  }, "err= with relu in DenseReference");
  DecodeSession session(k, v, o);
  std::vector<float> nk(c.hkv * c.d, 0.5f), nv(c.hkv * c.dv, 0.25f);
  ExpectOneLineError([&] { session.Append(std::span<const float>(nk).first(c.d), nv); },
                     "Append k of one head");
  ExpectOneLineError([&] { session.Append(nk, std::span<const float>(nv).first(1)); },
                     "Append short v");
  std::vector<float> nan_k = nk;
  nan_k[3] = std::nanf("");
  ExpectOneLineError([&] { session.Append(nan_k, nv); }, "Append NaN key");
  EXPECT_EQ(session.n(), c.n);
  std::vector<float> out(c.hq() * c.m * c.dv);
  ExpectOneLineError([&] {
    session.Decode(Array(c.q, c.hq(), c.m, c.d - 1), Array3{out.data(), c.hq(), c.m, c.dv});
  }, "Q wrong d");
  ExpectOneLineError([&] {
    session.Decode(q, Array3{out.data(), c.hq(), c.m, c.dv + 1});
  }, "out wrong dv");
  ExpectOneLineError([&] { session.Decode(q, Array3{nullptr, c.hq(), c.m, c.dv}); }, "null out");
  // Still answers correctly.
  const Stats st = session.Decode(q, Array3{out.data(), c.hq(), c.m, c.dv});
  AttentionParams pb = ParamsOf(o);
  const std::vector<float> b = Thresholds(FromPublic(st));
  pb.b_per_query = b;
  const Comparison cmp =
      Oracle(c.Q(), c.Kv(), pb).Compare(ConstHeadsView(out.data(), c.hq(), c.m, c.dv));
  EXPECT_TRUE(cmp.ok) << cmp.Describe();
  // A moved-from session says so.
  DecodeSession moved = std::move(session);
  EXPECT_EQ(moved.n(), c.n);
  ExpectOneLineError([&] { session.Decode(q, Array3{out.data(), c.hq(), c.m, c.dv}); },
                     "moved-from session");
}

}  // namespace
}  // namespace hsr::verify
