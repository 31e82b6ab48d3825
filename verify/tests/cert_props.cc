// Properties of the sketch softmax certificates (issue 9; core/hsr/softmax_cert.h), against
// float64 scores, on random, planted and recorded data (sim/workload/io/testdata):
//  - tau reports: eps_sketch is never below the true dropped mass, and eps_sketch <= eps_tau;
//  - err=E (keys in order of their bound): eps_sketch <= E on every row that is not a fallback,
//    every output element within 2 eps max|v| of the float64 dense softmax (+ the oracle's float
//    tolerance), fallbacks counted; decode, causal prefill, and decode with appends;
//  - the set SelectBySketch picks drops no more true mass than its eps_sketch;
//  - a NaN bound (corrupted sketch) and E outside (0, 1) are one-line hsr::Errors.
//
// "True dropped mass" uses exact scores s_j = scale <q, k_j> (float64; products of floats are
// exact in double, the d-term sum is off by ~d 2^-53 |q||k|, far below the slack below). The
// certificate is proved for the float32 scores ScoreRun computes, which differ from the exact
// ones by at most delta_j = ScoreRelErr(d) scale ||q|| ||k_j|| + ScoreAbsErr(d, scale)
// (core/index/key_store.h). Moving every score by at most delta scales the dropped sum by at
// most e^delta and the kept sum by at least e^-delta, so
//     true mass <= e^(2 delta_max) eps_sketch            (checked with a further 1e-12 relative
// for the float64 sums of at most a few thousand terms).
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <hwy/targets.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/attention/kv_cache.h"
#include "core/base/error.h"
#include "core/base/thread_pool.h"
#include "core/hsr/decode_engine.h"
#include "core/hsr/prefill_engine.h"
#include "core/hsr/softmax_cert.h"
#include "core/hsr/sparse_kernels.h"
#include "core/hsr/threshold.h"
#include "core/index/key_store.h"
#include "core/index/scan.h"
#include "core/index/sketch8.h"
#include "sim/bench/cert_inspect.h"
#include "sim/workload/workload.h"
#include "verify/oracle.h"
#include "verify/tests/kv_append.h"

namespace hsr::verify {
namespace {

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

void Fill(std::vector<float>* x, size_t count, std::mt19937_64* rng, float sd) {
  std::normal_distribution<float> g(0.0f, sd);
  x->resize(count);
  for (auto& e : *x) e = g(*rng);
}

// Gaussian Q, K, V with a drawn score spread (sd ~ 0.5 .. 6: flat to peaked rows).
Data RandomData(size_t max_n) {
  Data c;
  c.hkv = *rc::gen::inRange<size_t>(1, 3);
  c.group = *rc::gen::element<size_t>(1, 2);
  c.m = *rc::gen::inRange<size_t>(1, 4);
  c.n = *rc::gen::inRange<size_t>(1, max_n);
  c.d = *rc::gen::element<size_t>(3, 8, 17, 32, 64);
  c.dv = *rc::gen::element<size_t>(1, 8, 33);
  const float qsd = *rc::gen::element(0.5f, 2.0f, 4.0f, 6.0f);
  const uint64_t seed = *rc::gen::arbitrary<uint64_t>();
  std::mt19937_64 rng(seed);
  Fill(&c.q, c.hq() * c.m * c.d, &rng, qsd);
  Fill(&c.k, c.hkv * c.n * c.d, &rng, 1.0f);
  Fill(&c.v, c.hkv * c.n * c.dv, &rng, 1.0f);
  c.what = fmt::format("random Hkv={} group={} m={} n={} d={} dv={} qsd={} seed={}", c.hkv,
                       c.group, c.m, c.n, c.d, c.dv, qsd, seed);
  return c;
}

// Planted massive activations: r keys lean toward the query direction by `gap` nats.
Data PlantedData() {
  Data c;
  c.m = *rc::gen::inRange<size_t>(1, 3);
  c.n = *rc::gen::element<size_t>(64, 256, 1024);
  c.d = 32;
  c.dv = 8;
  const size_t r = *rc::gen::inRange<size_t>(1, 40);
  const float gap = *rc::gen::element(2.0f, 4.0f, 8.0f);
  const uint64_t seed = *rc::gen::arbitrary<uint64_t>();
  std::mt19937_64 rng(seed);
  Fill(&c.k, c.n * c.d, &rng, 1.0f);
  Fill(&c.v, c.n * c.dv, &rng, 1.0f);
  Fill(&c.q, c.m * c.d, &rng, 0.3f);
  for (size_t i = 0; i < c.m; ++i) c.q[i * c.d] += std::sqrt(static_cast<float>(c.d));
  std::uniform_int_distribution<size_t> pick(0, c.n - 1);
  for (size_t t = 0; t < r; ++t) c.k[pick(rng) * c.d] += gap;
  c.what = fmt::format("planted m={} n={} r={} gap={} seed={}", c.m, c.n, r, gap, seed);
  return c;
}

// The recorded 64-token slice (layer 3 of tinylm-code-2k, float16, 4 heads, causal).
Data RecordedData() {
  const sim::Workload w = sim::MakeWorkloadSource(sim::ParseWorkloadSpec(
      std::string("npy:") + HSR_SIM_TESTDATA + "/tinylm-code-64-f16,m=all"))->Make();
  Data c;
  c.hkv = w.kv_heads;
  c.group = w.q_heads / w.kv_heads;
  c.m = w.m;
  c.n = w.n;
  c.d = w.d;
  c.dv = w.dv;
  c.q.assign(w.q.data(), w.q.data() + c.hq() * c.m * c.d);
  c.k.assign(w.k.data(), w.k.data() + c.hkv * c.n * c.d);
  c.v.assign(w.v.data(), w.v.data() + c.hkv * c.n * c.dv);
  c.scale = w.scale;
  c.causal = true;
  c.what = "recorded " + w.description;
  return c;
}

Data DrawData() {
  switch (*rc::gen::inRange(0, 4)) {
    case 0: return PlantedData();
    case 1: return RecordedData();
    default: return RandomData(400);
  }
}

double ExactScore(const float* q, const float* k, size_t d, double scale) {
  double s = 0.0;
  for (size_t c = 0; c < d; ++c) s += static_cast<double>(q[c]) * k[c];
  return scale * s;
}

// e^(2 delta_max) (1 + 1e-12): the factor between the float32-score certificate and the exact
// dropped mass (see the top of this file).
double MassSlack(const Data& c, size_t h, size_t i, size_t visible) {
  const double scale = c.Scale();
  const double qn = index_detail::Norm(c.Qrow(h, i), c.d);
  double kmax = 0.0;
  for (size_t j = 0; j < visible; ++j) kmax = std::max(kmax, index_detail::Norm(c.K(h) + j * c.d, c.d));
  const double delta = index_detail::ScoreRelErr(c.d) * scale * qn * kmax +
                       index_detail::ScoreAbsErr(c.d, scale);
  return std::exp(2.0 * delta * (1.0 + 1e-6)) * (1.0 + 1e-12);
}

// Exact softmax mass of the visible keys not in `kept`.
double TrueDroppedMass(const Data& c, size_t h, size_t i, size_t visible,
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

// Every output element within 2 eps max|v| + twice the oracle's float tolerance of the float64
// dense softmax (the DESIGN.md §1 certificate; as hsr_props.cc CheckSoftmax).
void CheckOutput(const Data& c, bool causal, const std::vector<float>& out,
                 const HsrCallStats& st, const std::string& what) {
  AttentionParams p;
  p.kind = AttentionKind::kSoftmax;
  p.scale = c.Scale();
  p.causal = causal;
  const KvCache kv = c.Kv();
  const Oracle oracle(c.Q(), kv, p, /*decode=*/!causal);
  RC_ASSERT(st.rows.size() == c.hq() * c.m);
  for (size_t h = 0; h < c.hq(); ++h) {
    for (size_t i = 0; i < c.m; ++i) {
      const HsrRowStats& r = st.rows[h * c.m + i];
      double vmax = 0.0;
      for (size_t j = 0; j < r.visible; ++j) {
        for (size_t col = 0; col < c.dv; ++col) {
          vmax = std::max(vmax, std::fabs(static_cast<double>(c.V(h)[j * c.dv + col])));
        }
      }
      for (size_t col = 0; col < c.dv; ++col) {
        const double got = out[(h * c.m + i) * c.dv + col];
        const double want = oracle.Expected(h, i, col);
        const double bound = 2.0 * r.eps * vmax + 2.0 * oracle.Tolerance(h, i, col);
        if (!(std::fabs(got - want) <= bound)) {
          RC_FAIL(fmt::format("{}: {} row [{}, {}] col {}: got {} want {} |err| {} > bound {} "
                              "(eps {} |S| {} of {}, fallback {})",
                              what, c.what, h, i, col, got, want, std::fabs(got - want), bound,
                              r.eps, r.reported, r.visible, r.fallback));
        }
      }
    }
  }
}

// Runs softmax HSR (sketch8) with `policy`: causal prefill for recorded data, else decode.
HsrCallStats RunEngine(const Data& c, const ThresholdPolicy& policy, size_t threads,
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

RC_GTEST_PROP(CertProps, TauReportSketchCertificateBoundsTrueMass, ()) {
  const Data c = DrawData();
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

RC_GTEST_PROP(CertProps, ErrPolicyMeetsTargetWithSketchCertificate, ()) {
  const Data c = DrawData();
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
RC_GTEST_PROP(CertProps, SketchSelectionDropsAtMostItsCertificate, ()) {
  const Data c = DrawData();
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

RC_GTEST_PROP(CertProps, ErrPolicyDecodeWithAppends, ()) {
  Data c = RandomData(64);
  const double target = *rc::gen::element(0.1, 1e-3);
  const size_t steps = *rc::gen::inRange<size_t>(1, 8);
  AttentionParams p;
  p.kind = AttentionKind::kSoftmax;
  HsrOptions o;
  o.threshold = ParseThreshold(fmt::format("err={}", target));
  DecodeEngine engine(c.Kv(), c.Scale(), o);
  std::mt19937_64 rng(c.n * 7919 + steps);
  for (size_t s = 0; s < steps; ++s) {
    std::vector<float> nk, nv;
    Fill(&nk, c.hkv * c.d, &rng, 1.0f);
    Fill(&nv, c.hkv * c.dv, &rng, 1.0f);
    engine.Append(ConstMatrixView(nk.data(), c.hkv, c.d), ConstMatrixView(nv.data(), c.hkv, c.dv));
    c.k = AppendRowPerHead(c.k, nk, c.hkv, c.n, c.d);
    c.v = AppendRowPerHead(c.v, nv, c.hkv, c.n, c.dv);
    ++c.n;
    Fill(&c.q, c.hq() * c.m * c.d, &rng, 3.0f);
    std::vector<float> out(c.hq() * c.m * c.dv, -7.0f);
    HsrCallStats st;
    engine.Decode(c.Q(), p, HeadsView(out.data(), c.hq(), c.m, c.dv), &st);
    CheckOutput(c, false, out, st, fmt::format("err={} after append {}", target, s));
    for (const HsrRowStats& r : st.rows) RC_ASSERT(r.fallback || r.eps <= target);
  }
}

// hsr inspect's keys-needed columns (sim/bench/cert_inspect.h): no certificate needs fewer keys than
// the true minimum, since every certified set drops <= E of the mass. The sets are compared
// through float sums at the E boundary (and the sketch ones through float32 scores), so one key
// of tolerance.
RC_GTEST_PROP(CertProps, KeysNeededNeverBelowTrueMinimum, ()) {
  const Data c = *rc::gen::inRange(0, 2) == 0 ? PlantedData() : RandomData(400);
  const double target = *rc::gen::element(0.1, 1e-3);
  Sketch8Index index(1);
  index.Build(ConstMatrixView(c.K(0), c.n, c.d), c.Scale());
  for (size_t i = 0; i < c.m; ++i) {
    std::vector<double> exact(c.n);
    for (size_t j = 0; j < c.n; ++j) exact[j] = ExactScore(c.Qrow(0, i), c.K(0) + j * c.d, c.d, c.Scale());
    const sim::KeysNeeded kn =
        sim::KeysForError(index, std::span<const float>(c.Qrow(0, i), c.d), exact, target);
    RC_ASSERT(kn.visible == c.n);
    RC_ASSERT(kn.truth >= 1);
    RC_ASSERT(kn.truth <= kn.tau + 1);
    RC_ASSERT(kn.truth <= kn.sketch + 1);
    RC_ASSERT(kn.truth <= kn.engine + 1);
    RC_ASSERT(kn.tau <= c.n && kn.sketch <= c.n && kn.engine <= c.n);
  }
}

template <class F>
void ExpectError(F&& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "expected an hsr::Error containing '" << needle << "'";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

// The bucketing runs in blocks of kCertBucketTask keys spread over a pool: with several blocks
// (n = 3 blocks + 123 keys) the selection, its scores and its certificate are bit-identical with
// no pool and with pools of 2 and 3 threads, and the certificate bounds the exact dropped mass.
// 50 planted keys k = 3q dominate (score 9 |q|^2 / sqrt(d) vs ~N(0, |q|^2 / d) for the rest), so
// the row is selected, not a fallback.
TEST(CertBlocks, SelectionIndependentOfThreads) {
  Data c;
  c.d = 8;
  c.n = 3 * kCertBucketTask + 123;
  std::mt19937_64 rng(7);
  Fill(&c.q, c.d, &rng, 2.0f);  // |q|^2 ~ 32: planted scores ~ 34, the rest ~ N(0, 4)
  Fill(&c.k, c.n * c.d, &rng, 1.0f);
  for (size_t t = 0; t < 50; ++t) {
    const size_t j = (t * 7919 + 11) % c.n;
    for (size_t col = 0; col < c.d; ++col) c.k[j * c.d + col] = 3.0f * c.q[col];
  }
  Sketch8Index index(1);
  index.Build(ConstMatrixView(c.K(0), c.n, c.d), c.Scale());
  const SparseKernels kern = GetSparseKernels();
  const double target = 1e-3;
  struct Run {
    SketchSelection sel;
    std::vector<uint32_t> ids;
    std::vector<float> scores;
  };
  auto run = [&](size_t threads) {
    Run r;
    CertScratch scratch;
    std::unique_ptr<ThreadPool> pool;
    if (threads > 0) pool = std::make_unique<ThreadPool>(threads);
    r.sel = SelectBySketch(kern, index, c.Qrow(0, 0), c.K(0), c.d, c.Scale(), c.n, target,
                           &scratch, &r.ids, &r.scores, nullptr, pool.get());
    return r;
  };
  const Run base = run(0);
  ASSERT_EQ(base.sel.status, SketchSelection::Status::kSelected);
  ASSERT_LE(base.sel.eps_sketch, target);
  ASSERT_GE(base.ids.size(), 50u);
  for (size_t threads : {2, 3}) {
    const Run r = run(threads);
    EXPECT_EQ(r.sel.status, base.sel.status) << threads;
    EXPECT_EQ(r.ids, base.ids) << threads;
    EXPECT_EQ(r.scores, base.scores) << threads;
    EXPECT_EQ(r.sel.eps_sketch, base.sel.eps_sketch) << threads;
    EXPECT_EQ(r.sel.tau, base.sel.tau) << threads;
  }
  EXPECT_LE(TrueDroppedMass(c, 0, 0, c.n, base.ids),
            base.sel.eps_sketch * MassSlack(c, 0, 0, c.n));
}

TEST(CertErrors, CorruptedSketchIsAnError) {
  const size_t n = 600, d = 16;
  std::mt19937_64 rng(5);
  std::vector<float> k, q;
  Fill(&k, n * d, &rng, 1.0f);
  Fill(&q, d, &rng, 1.0f);
  Sketch8Index index(1);
  index.Build(ConstMatrixView(k.data(), n, d), 0.25f);
  std::vector<float> ub(n);
  float mx = 0.0f;
  double tiny = 0.0;
  ASSERT_TRUE(index.KeyBounds(q, n, ub.data(), &mx, &tiny, nullptr));
  index.CorruptSlackForTest(437, std::numeric_limits<float>::quiet_NaN());
  std::vector<uint32_t> ids;
  double tail = 0.0;
  ExpectError([&] { index.KeyBounds(q, n, ub.data(), &mx, &tiny, nullptr); }, "NaN for key 437");
  ExpectError([&] { index.QueryPrefixTail(q, 0.5f, n, &ids, nullptr, &tail); }, "NaN for key 437");
  ExpectError([&] { index.Query(q, 0.5f, &ids, nullptr); }, "corrupted sketch");
  // Keys before the corrupted one are still answered.
  EXPECT_TRUE(index.KeyBounds(q, 400, ub.data(), &mx, &tiny, nullptr));
}

TEST(CertErrors, ErrTargetOutsideUnitInterval) {
  for (const char* bad : {"err=0", "err=1", "err=-0.1", "err=1.5", "err=nan", "err=inf"}) {
    ExpectError([&] { ParseThreshold(bad); }, "E in (0, 1)");
  }
}

// The bucket selection kernel equals its scalar definition on every compiled target: ids with
// lo <= bucket < hi in order, max ub over bucket >= hi (-Inf if none or ub null). Bucket values
// sit at and around lo / hi; n covers non-multiples of every vector width.
RC_GTEST_PROP(CertProps, SelectBucketsEqualsScalarOnEveryTarget, ()) {
  const size_t n = *rc::gen::inRange<size_t>(0, 300);
  const uint32_t lo = *rc::gen::inRange<uint32_t>(0, 6);
  const uint32_t hi = lo + *rc::gen::inRange<uint32_t>(0, 6);
  const uint64_t seed = *rc::gen::arbitrary<uint64_t>();
  std::mt19937_64 rng(seed);
  std::vector<uint16_t> bucket(n);
  std::vector<float> ub(n);
  for (size_t j = 0; j < n; ++j) {
    bucket[j] = static_cast<uint16_t>(rng() % 14);
    ub[j] = std::normal_distribution<float>(0.0f, 3.0f)(rng);
  }
  std::vector<uint32_t> want;
  float want_max = -std::numeric_limits<float>::infinity();
  for (size_t j = 0; j < n; ++j) {
    if (bucket[j] >= hi) want_max = std::max(want_max, ub[j]);
    else if (bucket[j] >= lo) want.push_back(static_cast<uint32_t>(j));
  }
  hwy::SetSupportedTargetsForTest(0);
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    const SparseKernels k = GetSparseKernels();
    std::vector<uint32_t> got = {7u};  // appended to
    const float m = k.select_buckets(bucket.data(), ub.data(), n, lo, hi, &got);
    std::vector<uint32_t> got2;
    const float m2 = k.select_buckets(bucket.data(), nullptr, n, lo, hi, &got2);
    hwy::SetSupportedTargetsForTest(0);
    RC_ASSERT(got.size() == want.size() + 1 && got[0] == 7u);
    RC_ASSERT(std::equal(want.begin(), want.end(), got.begin() + 1));
    RC_ASSERT(got2 == want);
    RC_ASSERT(m == want_max);
    RC_ASSERT(m2 == -std::numeric_limits<float>::infinity());
  }
}

}  // namespace
}  // namespace hsr::verify
