// The checks behind the sketch softmax certificate properties (core/hsr/softmax_cert.h), against
// float64 scores, on one drawn case (Data): verify/tests/cert_props.cc runs them on random and
// planted data, sim/workload/recorded_cert_props.cc on the recorded slice (sim/workload/io/
// testdata), which needs sim's loaders. Each check is valid inside a RapidCheck property:
//  - tau reports: eps_sketch is never below the true dropped mass, and eps_sketch <= eps_tau;
//  - err=E (keys in order of their bound): eps_sketch <= E on every row that is not a fallback,
//    every output element within 2 eps max_j |v_jc| of the float64 dense softmax (+ the oracle's float
//    tolerance), fallbacks counted; decode (generated data) or causal prefill (recorded);
//  - the set SelectBySketch picks drops no more true mass than its eps_sketch.
//
// "True dropped mass" uses exact scores s_j = scale <q, k_j> (float64; products of floats are
// exact in double, the d-term sum is off by ~d 2^-53 |q||k|, far below the slack below). The
// certificate is proved for the float32 scores ScoreRun computes, which differ from the exact
// ones by at most delta_j = ScoreRelErr(d) scale ||q|| ||k_j|| + ScoreAbsErr(d, scale)
// (core/index/key_store.h). Moving every score by at most delta scales the dropped sum by at
// most e^delta and the kept sum by at least e^-delta, so
//     true mass <= e^(2 delta_max) eps_sketch            (checked with a further 1e-12 relative
// for the float64 sums of at most a few thousand terms).
#pragma once

#include <rapidcheck.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/attention/kv_cache.h"
#include "core/attention/params.h"
#include "core/hsr/decode_engine.h"
#include "core/hsr/prefill_engine.h"
#include "core/hsr/softmax_cert.h"
#include "core/hsr/sparse_kernels.h"
#include "core/hsr/threshold.h"
#include "core/index/key_store.h"
#include "core/index/scan.h"
#include "core/index/sketch8.h"
#include "verify/cert_check.h"
#include "verify/oracle.h"

namespace hsr::verify {

// One case: Q, K, V of any head layout (GQA: `group` query heads per kv head).
struct Data {
  size_t hkv = 1, group = 1, m = 1, n = 0, d = 1, dv = 1;
  std::vector<float> q, k, v;  // [Hq, m, d], [Hkv, n, d], [Hkv, n, dv]
  float scale = 0.0f;          // 0: 1/sqrt(d)
  bool causal = false;         // recorded data: prefill rows see a causal prefix
  std::string what;
  size_t hq() const { return hkv * group; }
  ConstHeadsView Q() const { return {q.data(), hq(), m, d}; }
  KvCache Kv() const {
    return KvCache(ConstHeadsView(k.data(), hkv, n, d), ConstHeadsView(v.data(), hkv, n, dv));
  }
  float Scale() const {
    AttentionParams p;
    if (scale > 0.0f) p.scale = scale;
    return p.ScaleFor(d);
  }
  const float* K(size_t h) const { return k.data() + (h / group) * n * d; }
  const float* V(size_t h) const { return v.data() + (h / group) * n * dv; }
  const float* Qrow(size_t h, size_t i) const { return q.data() + (h * m + i) * d; }
};

inline void Fill(std::vector<float>* x, size_t count, std::mt19937_64* rng, float sd) {
  std::normal_distribution<float> g(0.0f, sd);
  x->resize(count);
  for (auto& e : *x) e = g(*rng);
}

inline double ExactScore(const float* q, const float* k, size_t d, double scale) {
  double s = 0.0;
  for (size_t c = 0; c < d; ++c) s += static_cast<double>(q[c]) * k[c];
  return scale * s;
}

// e^(2 delta_max) (1 + 1e-12): the factor between the float32-score certificate and the exact
// dropped mass (see the top of this file).
inline double MassSlack(const Data& c, size_t h, size_t i, size_t visible) {
  const double scale = c.Scale();
  const double qn = index_detail::Norm(c.Qrow(h, i), c.d);
  double kmax = 0.0;
  for (size_t j = 0; j < visible; ++j) {
    kmax = std::max(kmax, index_detail::Norm(c.K(h) + j * c.d, c.d));
  }
  const double delta = index_detail::ScoreRelErr(c.d) * scale * qn * kmax +
                       index_detail::ScoreAbsErr(c.d, scale);
  return std::exp(2.0 * delta * (1.0 + 1e-6)) * (1.0 + 1e-12);
}

// Exact softmax mass of the visible keys not in `kept`.
inline double TrueDroppedMass(const Data& c, size_t h, size_t i, size_t visible,
                       const std::vector<uint32_t>& kept) {
  std::vector<double> s(visible);
  double mx = -std::numeric_limits<double>::infinity();
  for (size_t j = 0; j < visible; ++j) {
    s[j] = ExactScore(c.Qrow(h, i), c.K(h) + j * c.d, c.d, c.Scale());
    mx = std::max(mx, s[j]);
  }
  std::vector<char> in(visible, 0);
  for (uint32_t id : kept) in.at(id) = 1;
  double all = 0.0, dropped = 0.0;
  for (size_t j = 0; j < visible; ++j) {
    const double e = std::exp(s[j] - mx);
    all += e;
    if (!in[j]) dropped += e;
  }
  return dropped / all;
}

// Every output element within the certificate (verify/cert_check.h: 2 eps max|v_c| + twice the
// oracle's float tolerance) of the float64 dense softmax, as hsr_props.cc CheckSoftmax.
inline void CheckOutput(const Data& c, bool causal, const std::vector<float>& out,
                        const HsrCallStats& st, const std::string& what) {
  AttentionParams p;
  p.kind = AttentionKind::kSoftmax;
  p.scale = c.Scale();
  p.causal = causal;
  const KvCache kv = c.Kv();
  const Oracle oracle(c.Q(), kv, p);
  const CertCheck cc = CheckSoftmaxCertificate(
      oracle, kv, c.group, ConstHeadsView(out.data(), c.hq(), c.m, c.dv), st.rows);
  if (!cc.ok) RC_FAIL(fmt::format("{}: {} {}", what, c.what, cc.detail));
}

// Runs softmax HSR (sketch8) with `policy`: causal prefill for recorded data, else decode.
inline HsrCallStats RunEngine(const Data& c, const ThresholdPolicy& policy, size_t threads,
                       std::vector<float>* out) {
  AttentionParams p;
  p.kind = AttentionKind::kSoftmax;
  p.scale = c.Scale();
  p.causal = c.causal;
  HsrOptions o;
  o.index = "sketch8";
  o.threads = threads;
  o.threshold = policy;
  out->assign(c.hq() * c.m * c.dv, -7.0f);
  HsrCallStats st;
  const HeadsView ov(out->data(), c.hq(), c.m, c.dv);
  if (c.causal) {
    HsrPrefill(c.Q(), c.Kv(), p, o, ov, &st);
  } else {
    DecodeEngine engine(c.Kv(), c.Scale(), o);
    engine.Decode(c.Q(), p, ov, &st);
  }
  return st;
}

// Tau reports (a drawn non-err policy): the output within its certificate, eps_sketch <=
// eps_tau, and the true dropped mass of S = R(q, tau) at most eps_sketch (up to MassSlack).
inline void CheckTauReportBoundsTrueMass(const Data& c) {
  std::string pol = *rc::gen::element<std::string>("paper", "frac=0.05", "frac=0.3", "count=3",
                                                    "b=0.5", "b=2");
  // count=K needs K <= n (else a one-line error by design): tiny random cases use count=n.
  if (pol == "count=3" && c.n < 3) pol = fmt::format("count={}", c.n);
  std::vector<float> out;
  const HsrCallStats st = RunEngine(c, ParseThreshold(pol), *rc::gen::inRange<size_t>(1, 3), &out);
  CheckOutput(c, c.causal, out, st, "tau " + pol);
  ScanIndex scan(1);
  for (size_t h = 0; h < c.hq(); ++h) {
    scan.Build(ConstMatrixView(c.K(h), c.n, c.d), c.Scale());
    for (size_t i = 0; i < c.m; ++i) {
      const HsrRowStats& r = st.rows[h * c.m + i];
      if (r.fallback || r.empty) continue;
      RC_ASSERT(r.eps_sketch >= 0.0);  // sketch8 always has per-key bounds here
      RC_ASSERT(r.eps == r.eps_sketch);
      // CertEps rounds each of its two operations: 4 double ulps of slack.
      RC_ASSERT(r.eps_sketch <= r.eps_tau * (1.0 + 0x1p-50));
      std::vector<uint32_t> kept;
      scan.QueryPrefixTail(std::span<const float>(c.Qrow(h, i), c.d), r.b, r.visible, &kept,
                           nullptr, nullptr);  // S = R(q, tau): exactly the engine's set
      RC_ASSERT(kept.size() == r.reported);
      const double mass = TrueDroppedMass(c, h, i, r.visible, kept);
      if (!(mass <= r.eps_sketch * MassSlack(c, h, i, r.visible))) {
        RC_FAIL(fmt::format("{} {}: row [{}, {}] true dropped mass {} > eps_sketch {} "
                            "(eps_tau {}, |S| {} of {})", pol, c.what, h, i, mass, r.eps_sketch,
                            r.eps_tau, r.reported, r.visible));
      }
    }
  }
}

// err=E (a drawn E): the output within its certificate, eps <= E on every row that is not a
// fallback, fallbacks counted.
inline void CheckErrPolicyMeetsTarget(const Data& c) {
  const double target = *rc::gen::element(0.5, 0.1, 1e-3, 1e-6);
  std::vector<float> out;
  const HsrCallStats st = RunEngine(c, ParseThreshold(fmt::format("err={}", target)),
                                    *rc::gen::inRange<size_t>(1, 3), &out);
  CheckOutput(c, c.causal, out, st, fmt::format("err={}", target));
  uint64_t fallbacks = 0;
  for (const HsrRowStats& r : st.rows) {
    fallbacks += r.fallback ? 1 : 0;
    if (r.fallback || r.empty) continue;
    RC_ASSERT(r.eps_sketch >= 0.0);
    RC_ASSERT(r.eps == r.eps_sketch);
    RC_ASSERT(r.eps <= target);
    // Dropped bounds are each <= tau + tiny; the sketch sum carries the 2^-14 margin.
    RC_ASSERT(r.eps_sketch <= r.eps_tau * (1.0 + 0x1p-13) || r.reported == r.visible);
    RC_ASSERT(r.reported <= r.visible);
  }
  RC_ASSERT(fallbacks == st.attention.fallbacks);
  RC_CLASSIFY(fallbacks > 0, "fallbacks");
}

// The set SelectBySketch picks (in order of bound) drops no more exact mass than its eps_sketch.
inline void CheckSketchSelectionDropsAtMostItsCertificate(const Data& c) {
  const double target = *rc::gen::element(0.5, 0.1, 1e-3, 1e-6);
  const SparseKernels kern = GetSparseKernels();
  Sketch8Index index(*rc::gen::inRange<size_t>(1, 3));
  CertScratch scratch;
  std::vector<uint32_t> ids;
  std::vector<float> scores;
  for (size_t h = 0; h < c.hq(); ++h) {
    index.Build(ConstMatrixView(c.K(h), c.n, c.d), c.Scale());
    for (size_t i = 0; i < c.m; ++i) {
      const size_t visible = VisibleKeys(c.causal, i, c.m, c.n);
      const SketchSelection sel = SelectBySketch(kern, index, c.Qrow(h, i), c.K(h), c.d,
                                                 c.Scale(), visible, target, &scratch, &ids,
                                                 &scores, nullptr);
      if (sel.status != SketchSelection::Status::kSelected) continue;
      RC_ASSERT(sel.eps_sketch <= target);
      std::vector<uint32_t> sorted = ids;
      std::sort(sorted.begin(), sorted.end());
      RC_ASSERT(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end());
      for (size_t t = 0; t < ids.size(); ++t) {
        float s = 0.0f;
        kern.score_run(c.Qrow(h, i), c.K(h) + ids[t] * c.d, c.d, 1, c.Scale(), &s);
        RC_ASSERT(s == scores[t]);  // the set's scores are ScoreRun's
      }
      const double mass = TrueDroppedMass(c, h, i, visible, ids);
      if (!(mass <= sel.eps_sketch * MassSlack(c, h, i, visible))) {
        RC_FAIL(fmt::format("{}: row [{}, {}] E={} true dropped mass {} > eps_sketch {} "
                            "(|S| {} of {})", c.what, h, i, target, mass, sel.eps_sketch,
                            ids.size(), visible));
      }
    }
  }
}

}  // namespace hsr::verify
