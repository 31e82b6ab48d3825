// Host tests of the GPU sketch8 stage (gpu/hsr/sketch_code.h, sketch_kv.h): everything the
// kernel is handed and every piece of arithmetic it runs, on the CPU (no device needed).
//   - q16 = 256 hi + lo for every int16; the dp4a lane decomposition summed modulo 2^32 equals
//     the exact dot even where 256 Hi overflows int32 (d_pad = 1024 at +-Qmax, codes +-127);
//   - the arrays uploaded equal each Sketch8Index's own, built over K rounded through the
//     storage type; the query rows equal Sketch8Index::QuantiseQuery's (GQA head mapping);
//   - the bound, evaluated in the kernel's order, equals sketch8's UpperBounds bit for bit, and
//     the candidate count equals sketch8's own filter's;
//   - the claim the GPU path rests on (sketch_kv.h): every key whose GPU score (ScoreRows order,
//     emulated here lane by lane) exceeds b is a candidate, including b placed right at scores.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <set>
#include <vector>

#include "core/attention/kv_cache.h"
#include "core/attention/params.h"
#include "core/index/half_space_index.h"
#include "core/index/sketch8.h"
#include "gpu/hsr/sketch_code.h"
#include "gpu/hsr/sketch_kv.h"

namespace hsr::gpu {
namespace {

// The largest |q16| whose dots fit int32 at a padded width (sketch8.cc's 13-bit Qmax <= 8191 is
// below it: the lanes are checked on the wider range).
int32_t Qmax(size_t d_pad) {
  return static_cast<int32_t>(
      std::min<double>(32767.0, std::floor(2147483647.0 / (127.0 * static_cast<double>(d_pad)))));
}

TEST(SketchCode, SplitQ16ReconstructsEveryInt16) {
  for (int v = -32768; v <= 32767; ++v) {
    int8_t hi = 0;
    uint8_t lo = 0;
    sketch::SplitQ16(static_cast<int16_t>(v), &hi, &lo);
    ASSERT_EQ(256 * int{hi} + int{lo}, v) << v;
  }
}

// Sum of the 8 lanes' LaneDot modulo 2^32, as the kernel's shuffles; vs the int64 dot.
int64_t LaneSum(const std::vector<int16_t>& q16, const std::vector<int8_t>& code) {
  const size_t d_pad = q16.size();
  std::vector<uint8_t> hb(d_pad), lb(d_pad);
  for (size_t c = 0; c < d_pad; ++c) {
    int8_t hi = 0;
    sketch::SplitQ16(q16[c], &hi, &lb[c]);
    hb[c] = static_cast<uint8_t>(hi);
  }
  std::vector<uint32_t> qh(d_pad / 4), ql(d_pad / 4), kw(d_pad / 4);
  std::memcpy(qh.data(), hb.data(), d_pad);
  std::memcpy(ql.data(), lb.data(), d_pad);
  std::memcpy(kw.data(), code.data(), d_pad);
  uint32_t sum = 0;
  for (int lane = 0; lane < sketch::kLanesPerKey; ++lane) {
    sum += sketch::LaneDot(qh.data(), ql.data(), kw.data(), lane, static_cast<int>(d_pad));
  }
  return static_cast<int32_t>(sum);
}

TEST(SketchCode, LaneDotsAreExactUpToQmax) {
  std::mt19937 rng(5);
  for (size_t d_pad : {32u, 64u, 96u, 128u, 160u, 256u, 512u, 1024u}) {
    const int32_t qmax = Qmax(d_pad);
    for (int trial = 0; trial < 40; ++trial) {
      std::vector<int16_t> q16(d_pad);
      std::vector<int8_t> code(d_pad);
      for (size_t c = 0; c < d_pad; ++c) {
        // Extremes first (|I| at its bound, where 256 Hi leaves int32), then random values.
        if (trial < 4) {
          q16[c] = static_cast<int16_t>((trial & 1) ? -qmax : qmax);
          code[c] = static_cast<int8_t>((trial & 2) ? -127 : 127);
        } else {
          q16[c] = static_cast<int16_t>(std::uniform_int_distribution<int>(-qmax, qmax)(rng));
          code[c] = static_cast<int8_t>(std::uniform_int_distribution<int>(-127, 127)(rng));
        }
      }
      int64_t exact = 0;
      for (size_t c = 0; c < d_pad; ++c) exact += int64_t{q16[c]} * int64_t{code[c]};
      ASSERT_LT(std::llabs(exact), int64_t{1} << 31);
      ASSERT_EQ(LaneSum(q16, code), exact) << "d_pad " << d_pad << " trial " << trial;
    }
  }
}

// dk_pad = d rounded up to 4 (decode_plan.h); the recheck's rounding count must fit ScoreRun's.
TEST(SketchCode, GpuScoreRoundingsFitSketch8Slack) {
  for (int d = 1; d <= 1024; ++d) {
    const int dk_pad = (d + 3) / 4 * 4;
    ASSERT_LE(sketch::GpuScoreRoundings(dk_pad), d + 32) << d;
  }
}

// A GQA case: Hkv kv heads, group q heads each, keys Gaussian with varied norms, some zero keys.
struct Case {
  size_t hkv = 2, group = 2, m = 1, n = 512, d = 128;
  std::vector<float> k, v, q;
  KvCache kv;
  Case(size_t d_, uint32_t seed, size_t n_ = 512) : n(n_), d(d_) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> g(0.0f, 1.0f);
    k.resize(hkv * n * d);
    v.resize(hkv * n * 4, 1.0f);
    for (size_t j = 0; j < hkv * n; ++j) {
      const float s = (j % 37 == 5) ? 0.0f : std::exp(0.5f * g(rng));
      for (size_t c = 0; c < d; ++c) k[j * d + c] = s * g(rng);
    }
    q.resize(hkv * group * m * d);
    for (float& x : q) x = g(rng);
    kv = KvCache(ConstHeadsView(k.data(), hkv, n, d), ConstHeadsView(v.data(), hkv, n, 4));
  }
  ConstHeadsView Q() const { return ConstHeadsView(q.data(), hkv * group, m, d); }
};

TEST(SketchKv, IndexesArePackedAsBuiltOnRoundedKeys) {
  for (KvDtype t : {KvDtype::kF32, KvDtype::kF16, KvDtype::kBf16}) {
    const Case c(100, 11);
    const auto heads = BuildSketchIndexes("test", c.kv, t, 0.1f, 2);
    ASSERT_EQ(heads.size(), c.hkv);
    const SketchArrays s = PackSketch(heads);
    EXPECT_EQ(s.d_pad, 128u);
    EXPECT_EQ(s.codes.size(), c.hkv * c.n * s.d_pad);
    for (size_t g = 0; g < c.hkv; ++g) {
      // The index scores exactly the values the device holds.
      for (size_t j = 0; j < c.n; ++j) {
        for (size_t x = 0; x < c.d; ++x) {
          ASSERT_EQ(heads[g]->KeyData()[j * c.d + x], RoundTrip(t, c.kv.k().Head(g)(j, x)));
        }
      }
      // Same as an index built directly on those values, and the packed copy equals both.
      Sketch8Index direct(1);
      direct.Build(ConstMatrixView(heads[g]->KeyData(), c.n, c.d), 0.1f);
      const Sketch8Index::Layout L = heads[g]->SketchLayout(), D = direct.SketchLayout();
      ASSERT_EQ(L.n, c.n);
      std::vector<int8_t> rows(c.n * s.d_pad), direct_rows(c.n * s.d_pad);
      heads[g]->CopyCodeRows(s.d_pad, rows.data());
      direct.CopyCodeRows(s.d_pad, direct_rows.data());
      EXPECT_EQ(rows, direct_rows);
      EXPECT_EQ(std::memcmp(rows.data(), s.codes.data() + g * c.n * s.d_pad, c.n * s.d_pad), 0);
      // The rows are the index's own blocked codes (key_code.h).
      for (size_t j = 0; j < c.n; ++j) {
        for (size_t x = 0; x < c.d; ++x) {
          ASSERT_EQ(int{rows[j * s.d_pad + x]}, L.codes.Code(j, x)) << j << " " << x;
        }
      }
      EXPECT_EQ(std::memcmp(L.a, s.a.data() + g * c.n, c.n * sizeof(float)), 0);
      EXPECT_EQ(std::memcmp(L.w, s.w.data() + g * c.n, c.n * sizeof(float)), 0);
      EXPECT_EQ(std::memcmp(L.a, D.a, c.n * sizeof(float)), 0);
      EXPECT_EQ(std::memcmp(L.w, D.w, c.n * sizeof(float)), 0);
      // Padding columns d..d_pad are zero codes.
      for (size_t j = 0; j < c.n; ++j) {
        for (size_t x = c.d; x < s.d_pad; ++x) {
          ASSERT_EQ(s.codes[(g * c.n + j) * s.d_pad + x], 0);
        }
      }
    }
  }
}

TEST(SketchKv, QueryRowsAreSketch8Quantisation) {
  Case c(64, 3);
  c.m = 2;
  c.q.resize(c.hkv * c.group * c.m * c.d);
  std::mt19937 rng(9);
  std::normal_distribution<float> g(0.0f, 1.0f);
  for (float& x : c.q) x = g(rng);
  // Row (h = 3, i = 1): a huge query, above the overflow guard: not trusted.
  for (size_t x = 0; x < c.d; ++x) c.q[(3 * c.m + 1) * c.d + x] = 1e37f;
  const auto heads = BuildSketchIndexes("test", c.kv, KvDtype::kF16, 0.125f, 1);
  AttentionParams p;
  p.kind = AttentionKind::kRelu;
  std::vector<float> b_rows(c.hkv * c.group * c.m);
  for (size_t r = 0; r < b_rows.size(); ++r) b_rows[r] = 0.3f * static_cast<float>(r) - 1.0f;
  p.b_per_query = b_rows;
  const SketchQueries sq = QuantiseRows(heads, c.Q(), p);
  ASSERT_EQ(sq.rows, c.hkv * c.group * c.m);
  EXPECT_EQ(sq.untrusted_rows, 1u);
  for (size_t h = 0; h < c.hkv * c.group; ++h) {
    for (size_t i = 0; i < c.m; ++i) {
      const size_t r = h * c.m + i;
      const auto qc = heads[h / c.group]->QuantiseQuery({c.Q().Head(h).Row(i), c.d});
      const std::vector<int16_t>& q16 = qc.words.q;
      ASSERT_LE(q16.size(), sq.d_pad);
      for (size_t x = 0; x < sq.d_pad; ++x) {
        const int v = 256 * int{static_cast<int8_t>(sq.qhi[r * sq.d_pad + x])} +
                      int{sq.qlo[r * sq.d_pad + x]};
        ASSERT_EQ(v, x < q16.size() ? int{q16[x]} : 0) << r << " " << x;
      }
      EXPECT_EQ(sq.T(r), qc.T);
      EXPECT_EQ(sq.Qn(r), qc.Qn);
      EXPECT_EQ(sq.D(r), static_cast<float>(qc.words.extra));
      if (!qc.trusted) {
        EXPECT_EQ(r, 3 * c.m + 1);
        EXPECT_EQ(sq.b_eff(r), -std::numeric_limits<float>::infinity());
        continue;
      }
      // b_eff: the largest float <= b - tiny.
      const double want = double{p.b_per_query[r]} - qc.tiny;
      EXPECT_LE(double{sq.b_eff(r)}, want);
      EXPECT_GT(double{std::nextafter(sq.b_eff(r), 1e30f)}, want);
    }
  }
}

// ScoreRows (decode_common.cuh) on the host: lane l sums columns 4l + 128 s + {0..3} by FMA,
// then the xor butterfly 16, 8, 4, 2, 1; score = scale * lane 0's sum.
float EmulatedGpuScore(const float* q, const float* k, size_t d, float scale) {
  const size_t dk_pad = (d + 3) / 4 * 4;
  float lane[32] = {};
  for (size_t l = 0; l < 32; ++l) {
    for (size_t c = 4 * l; c < dk_pad; c += 128) {
      for (size_t e = 0; e < 4; ++e) {
        const float qv = c + e < d ? q[c + e] : 0.0f, kv = c + e < d ? k[c + e] : 0.0f;
        lane[l] = std::fma(qv, kv, lane[l]);
      }
    }
  }
  for (size_t off = 16; off > 0; off >>= 1) {
    float next[32];
    for (size_t l = 0; l < 32; ++l) next[l] = lane[l] + lane[l ^ off];
    std::memcpy(lane, next, sizeof(lane));
  }
  return scale * lane[0];
}

TEST(SketchKv, KernelBoundsEqualSketch8AndCoverTheGpuScore) {
  // n a multiple of 16: every key of sketch8's ChunkBounds takes the vector MulAdd (one fused
  // rounding), whose order SketchBound reproduces; the scalar tail may round twice.
  for (size_t d : {8u, 64u, 100u, 128u}) {
    for (KvDtype t : {KvDtype::kF32, KvDtype::kF16}) {
      const Case c(d, static_cast<uint32_t>(d) + 17);
      const float scale = 1.0f / std::sqrt(static_cast<float>(d));
      const auto heads = BuildSketchIndexes("test", c.kv, t, scale, 2);
      const SketchArrays s = PackSketch(heads);
      for (size_t h = 0; h < c.hkv * c.group; ++h) {
        const size_t g = h / c.group;
        const float* q = c.Q().Head(h).Row(0);
        const float* keys = heads[g]->KeyData();
        std::vector<float> gpu(c.n);
        for (size_t j = 0; j < c.n; ++j) gpu[j] = EmulatedGpuScore(q, keys + j * d, d, scale);
        std::vector<float> sorted = gpu;
        std::sort(sorted.begin(), sorted.end());
        // Thresholds: quantiles, and right at / just below GPU scores (the band edge).
        std::vector<float> bs = {sorted[c.n / 2], sorted[c.n * 9 / 10], sorted[c.n - 3],
                                 std::nextafter(sorted[c.n - 5], -1e30f), sorted[c.n - 1],
                                 -std::numeric_limits<float>::infinity()};
        const std::vector<double> ub_cpu = heads[g]->UpperBounds({q, d});
        const auto qc = heads[g]->QuantiseQuery({q, d});
        ASSERT_TRUE(qc.trusted);
        for (float b : bs) {
          AttentionParams p;
          p.kind = AttentionKind::kRelu;
          p.b = b;
          const SketchQueries sq = QuantiseRows(heads, c.Q(), p);
          std::vector<int32_t> dots;
          std::vector<float> bounds;
          const std::vector<uint32_t> cand =
              HostSketchCandidates(s, sq, g, h * c.m, &dots, &bounds);
          const std::set<uint32_t> cs(cand.begin(), cand.end());
          for (size_t j = 0; j < c.n; ++j) {
            int64_t exact = qc.words.extra;  // D
            for (size_t x = 0; x < qc.words.q.size(); ++x) {
              exact += int64_t{qc.words.q[x]} * int64_t{s.codes[(g * c.n + j) * s.d_pad + x]};
            }
            ASSERT_EQ(dots[j], exact);
            ASSERT_EQ(double{bounds[j]} + qc.tiny, ub_cpu[j]) << "d " << d << " key " << j;
            if (gpu[j] > b) {
              ASSERT_TRUE(cs.count(static_cast<uint32_t>(j)))
                  << "d " << d << " key " << j << " gpu score " << gpu[j] << " b " << b
                  << " bound " << bounds[j] << " b_eff " << sq.b_eff(h * c.m);
            }
          }
          // The candidate count equals sketch8's own filter's (same b_eff, same bounds).
          IndexStats st;
          std::vector<uint32_t> ids;
          heads[g]->Query({q, d}, b, &ids, &st);
          EXPECT_EQ(st.candidates, cand.size()) << "d " << d << " b " << b;
          // And the filter filters: at the 0.9 quantile well under all keys are candidates.
          if (b == bs[1]) {
            EXPECT_LT(cand.size(), c.n / 2) << "d " << d;
          }
        }
      }
    }
  }
}

TEST(SketchKv, UntrustedRowsMakeEveryKeyACandidate) {
  Case c(32, 4, 64);
  for (size_t x = 0; x < c.d; ++x) c.q[x] = 1e37f;  // row 0: above the overflow guard
  const auto heads = BuildSketchIndexes("test", c.kv, KvDtype::kF32, 1.0f, 1);
  AttentionParams p;
  p.kind = AttentionKind::kRelu;
  p.b = 1e30f;
  const SketchQueries sq = QuantiseRows(heads, c.Q(), p);
  EXPECT_EQ(HostSketchCandidates(PackSketch(heads), sq, 0, 0, nullptr, nullptr).size(), c.n);
  EXPECT_TRUE(HostSketchCandidates(PackSketch(heads), sq, 0, 1, nullptr, nullptr).empty());
}

}  // namespace
}  // namespace hsr::gpu
