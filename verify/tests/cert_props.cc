// Properties of the sketch softmax certificates (core/hsr/softmax_cert.h) against float64
// scores on random and planted data (the checks: verify/tests/cert_checks.h; the recorded slice:
// sim/workload/recorded_cert_props.cc):
//  - tau reports: eps_sketch is never below the true dropped mass, and eps_sketch <= eps_tau;
//  - err=E (keys in order of their bound): eps_sketch <= E on every row that is not a fallback,
//    every output element within 2 eps max_j |v_jc| of the float64 dense softmax (+ the oracle's float
//    tolerance), fallbacks counted; decode, and decode with appends;
//  - the set SelectBySketch picks drops no more true mass than its eps_sketch;
//  - hsr inspect's keys needed for err=E (verify/keys_needed.h) never below the true minimum;
//  - a NaN bound (corrupted sketch) and E outside (0, 1) are one-line hsr::Errors.
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

#include "core/base/error.h"
#include "core/base/thread_pool.h"
#include "core/hsr/decode_engine.h"
#include "core/hsr/softmax_cert.h"
#include "core/hsr/sparse_kernels.h"
#include "core/hsr/threshold.h"
#include "core/index/sketch8.h"
#include "verify/keys_needed.h"
#include "verify/oracle.h"
#include "verify/tests/cert_checks.h"
#include "verify/tests/expect_error.h"
#include "verify/tests/kv_append.h"

namespace hsr::verify {
namespace {

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

Data DrawData() {
  switch (*rc::gen::inRange(0, 3)) {
    case 0: return PlantedData();
    default: return RandomData(400);
  }
}

RC_GTEST_PROP(CertProps, TauReportSketchCertificateBoundsTrueMass, ()) {
  CheckTauReportBoundsTrueMass(DrawData());
}

RC_GTEST_PROP(CertProps, ErrPolicyMeetsTargetWithSketchCertificate, ()) {
  CheckErrPolicyMeetsTarget(DrawData());
}

RC_GTEST_PROP(CertProps, SketchSelectionDropsAtMostItsCertificate, ()) {
  CheckSketchSelectionDropsAtMostItsCertificate(DrawData());
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

// hsr inspect's keys-needed columns (verify/keys_needed.h): no certificate needs fewer keys than
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
    const KeysNeeded kn =
        KeysForError(index, std::span<const float>(c.Qrow(0, i), c.d), exact, target);
    RC_ASSERT(kn.visible == c.n);
    RC_ASSERT(kn.truth >= 1);
    RC_ASSERT(kn.truth <= kn.tau + 1);
    RC_ASSERT(kn.truth <= kn.sketch + 1);
    RC_ASSERT(kn.truth <= kn.engine + 1);
    RC_ASSERT(kn.tau <= c.n && kn.sketch <= c.n && kn.engine <= c.n);
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
