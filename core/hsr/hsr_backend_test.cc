// HsrCpuBackend's engines are bound to KvCache identities (hsr_backend.h): memory reused at the
// same address and shape with new contents gets a fresh answer, and the engines held follow the
// caches alive, not how many were made.
#include "core/hsr/hsr_backend.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "core/attention/kv_cache.h"
#include "core/tensor/tensor.h"
#include "verify/oracle.h"

namespace hsr {
namespace {

constexpr size_t kHkv = 2, kGroup = 2, kM = 3, kN = 300, kD = 16, kDv = 8;

void Fill(float* x, size_t count, std::mt19937_64* rng, float sd) {
  std::normal_distribution<float> g(0.0f, sd);
  for (size_t i = 0; i < count; ++i) x[i] = g(*rng);
}

AttentionParams Params(AttentionKind kind) {
  AttentionParams p;
  p.kind = kind;
  p.alpha = 2;
  return p;
}

std::vector<float> Decode(HsrCpuBackend& backend, const Tensor& q, const KvCache& kv,
                          const AttentionParams& p) {
  Tensor out(q.heads(), q.rows(), kv.dv());
  backend.Decode(q.Heads(), kv, p, out.Heads(), nullptr);
  return {out.data(), out.data() + out.size()};
}

// The backend's last output vs the float64 oracle on kv (ReLU with the thresholds the backend
// used; softmax within its certificate is hsr_props' business, so ReLU only here).
void ExpectMatchesOracle(const HsrCpuBackend& backend, const Tensor& q, const KvCache& kv,
                         const std::vector<float>& out) {
  std::vector<float> b;
  for (const HsrRowStats& r : backend.LastStats().rows) b.push_back(r.b);
  AttentionParams p = Params(AttentionKind::kRelu);
  p.b_per_query = b;
  const verify::Comparison cmp = verify::Oracle(q.Heads(), kv, p)
                                     .Compare(ConstHeadsView(out.data(), q.heads(), q.rows(), kDv));
  EXPECT_TRUE(cmp.ok) << cmp.Describe();
}

TEST(HsrCpuBackend, ReusedBufferWithNewContentsGetsAFreshAnswer) {
  for (AttentionKind kind : {AttentionKind::kRelu, AttentionKind::kSoftmax}) {
    for (bool old_cache_alive : {false, true}) {
      SCOPED_TRACE(testing::Message() << ToString(kind) << " old cache alive " << old_cache_alive);
      std::mt19937_64 rng(3);
      Tensor q(kHkv * kGroup, kM, kD), k(kHkv, kN, kD), v(kHkv, kN, kDv);
      Fill(q.data(), q.size(), &rng, 1.5f);
      Fill(k.data(), k.size(), &rng, 1.0f);
      Fill(v.data(), v.size(), &rng, 1.0f);
      const AttentionParams p = Params(kind);
      HsrCpuBackend backend;
      backend.SetThreshold(ParseThreshold("paper"));
      auto old_kv = std::make_unique<KvCache>(k.Heads(), v.Heads());
      backend.Prepare(*old_kv, p.ScaleFor(kD));
      const std::vector<float> old_out = Decode(backend, q, *old_kv, p);
      if (!old_cache_alive) old_kv.reset();
      // New contents at the same address, same shape.
      Fill(k.data(), k.size(), &rng, 1.0f);
      Fill(v.data(), v.size(), &rng, 1.0f);
      const KvCache kv(k.Heads(), v.Heads());
      ASSERT_EQ(kv.k().data, k.data());
      const std::vector<float> out = Decode(backend, q, kv, p);
      // A backend that never saw the old contents answers the same, bit for bit.
      HsrCpuBackend fresh;
      fresh.SetThreshold(ParseThreshold("paper"));
      const std::vector<float> want = Decode(fresh, q, kv, p);
      EXPECT_EQ(std::memcmp(out.data(), want.data(), out.size() * sizeof(float)), 0);
      EXPECT_NE(out, old_out);  // the contents changed, so must the answer
      if (kind == AttentionKind::kRelu) ExpectMatchesOracle(backend, q, kv, out);
      EXPECT_EQ(backend.builds(), 2u);
    }
  }
}

TEST(HsrCpuBackend, EnginesFollowTheCachesAlive) {
  std::mt19937_64 rng(5);
  Tensor q(kHkv * kGroup, kM, kD);
  Fill(q.data(), q.size(), &rng, 1.5f);
  const AttentionParams p = Params(AttentionKind::kRelu);
  const float scale = p.ScaleFor(kD);
  HsrCpuBackend backend;
  backend.SetThreshold(ParseThreshold("paper"));

  // Distinct caches made one after another: one engine at a time.
  for (size_t c = 0; c < 20; ++c) {
    Tensor k(kHkv, kN, kD), v(kHkv, kN, kDv);
    Fill(k.data(), k.size(), &rng, 1.0f);
    Fill(v.data(), v.size(), &rng, 1.0f);
    const KvCache kv(k.Heads(), v.Heads());
    Decode(backend, q, kv, p);
    EXPECT_EQ(backend.engines(), 1u);
  }
  EXPECT_EQ(backend.builds(), 20u);

  // A cache growing by one key per token in a preallocated buffer (a new KvCache each token):
  // each answer is the fresh one over the keys so far, and one engine is held throughout.
  const size_t n_max = 64;
  Tensor k(kHkv, n_max, kD), v(kHkv, n_max, kDv);
  Fill(k.data(), k.size(), &rng, 1.0f);
  Fill(v.data(), v.size(), &rng, 1.0f);
  for (size_t n = 40; n <= n_max; ++n) {
    const KvCache kv(ConstHeadsView(k.data(), kHkv, n, kD, kD, n_max * kD),
                     ConstHeadsView(v.data(), kHkv, n, kDv, kDv, n_max * kDv));
    const std::vector<float> out = Decode(backend, q, kv, p);
    EXPECT_EQ(backend.engines(), 1u);
    ExpectMatchesOracle(backend, q, kv, out);
  }

  // Rotated copies prepared before use (the bench's cold K/V): one engine each, none rebuilt
  // while they rotate.
  std::vector<Tensor> ks, vs;
  std::vector<KvCache> kvs;
  for (size_t c = 0; c < 5; ++c) {
    ks.emplace_back(kHkv, kN, kD);
    vs.emplace_back(kHkv, kN, kDv);
    Fill(ks.back().data(), ks.back().size(), &rng, 1.0f);
    Fill(vs.back().data(), vs.back().size(), &rng, 1.0f);
  }
  for (size_t c = 0; c < 5; ++c) kvs.emplace_back(ks[c].Heads(), vs[c].Heads());
  for (const KvCache& kv : kvs) backend.Prepare(kv, scale);
  const size_t built = backend.builds();
  EXPECT_EQ(backend.engines(), 5u);  // the growing cache's engine was dropped by the first build
  for (size_t r = 0; r < 15; ++r) Decode(backend, q, kvs[r % 5], p);
  EXPECT_EQ(backend.builds(), built);
  // A copy of a KvCache is the same cache.
  const KvCache copy = kvs[2];
  Decode(backend, q, copy, p);
  EXPECT_EQ(backend.builds(), built);
  // Destroyed caches are dropped by the next build.
  kvs.resize(2);
  EXPECT_EQ(backend.engines(), 5u);  // still held: no build since
  const KvCache other(ks[4].Heads(), vs[4].Heads());
  backend.Prepare(other, scale);
  EXPECT_EQ(backend.engines(), 4u);  // kvs[0], kvs[1], copy of kvs[2], other
  // Another scale replaces the cache's engine.
  backend.Prepare(other, scale * 0.5f);
  EXPECT_EQ(backend.engines(), 4u);
  backend.SetThreshold(ParseThreshold("count=10"));
  EXPECT_EQ(backend.engines(), 0u);
}

}  // namespace
}  // namespace hsr
