// dense-hwy (dense_hwy.h) under every compiled Highway target against the float64 oracle
// (verify/oracle.h, which wraps dense-ref). Tolerances are derived per element by the oracle
// from the data (d, scores, n, alpha, |v|); see the error model at the top of verify/oracle.cc.
// Edge shapes cross vector widths: d and n around the lane count, misaligned rows with odd
// strides, causal with m > n and m < n, GQA groups, ReLU rows with no positive weight,
// flash-decoding splits (threads = 2, thousands of keys).
#ifndef HWY_COMPILE_ALL_ATTAINABLE
#define HWY_COMPILE_ALL_ATTAINABLE  // test the same targets that hsr_core compiles
#endif

#include "core/attention/dense_hwy.h"

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstddef>
#include <random>
#include <string>
#include <vector>

#include "core/attention/kv_cache.h"
#include "core/base/error.h"
#include "hwy/tests/hwy_gtest.h"
#include "verify/oracle.h"

namespace hsr {
namespace {

// Heads of random values in [lo, hi) behind a misaligned base (offset floats) with row stride
// cols + pad and head stride rows * stride + head_pad.
struct Buffer {
  std::vector<float> storage;
  HeadsView view;
};

Buffer MakeHeads(size_t heads, size_t rows, size_t cols, size_t offset, size_t pad,
                 std::mt19937& rng, float lo = -1.0f, float hi = 1.0f) {
  Buffer b;
  const size_t stride = cols + pad;
  const size_t head_stride = rows * stride + pad;
  b.storage.assign(offset + heads * head_stride + 1, 7.0f);  // 7: never read
  std::uniform_real_distribution<float> dist(lo, hi);
  for (size_t h = 0; h < heads; ++h) {
    for (size_t r = 0; r < rows; ++r) {
      for (size_t c = 0; c < cols; ++c) {
        b.storage[offset + h * head_stride + r * stride + c] = dist(rng);
      }
    }
  }
  b.view = HeadsView(b.storage.data() + offset, heads, rows, cols, stride, head_stride);
  return b;
}

struct Case {
  size_t hq = 1, hkv = 1, m = 1, n = 1, d = 8, dv = 8;
  AttentionKind kind = AttentionKind::kSoftmax;
  int alpha = 1;
  float b = 0.0f;
  bool per_query_b = false;
  bool causal = false;
  bool decode = false;
  size_t threads = 1;
  size_t offset = 1, pad = 3;   // misaligned, odd strides
  float q_range = 1.0f;         // q in [-q_range, q_range)
  float scale = 0.0f;           // 0: default 1/sqrt(d)
  unsigned seed = 1;

  std::string Describe() const {
    std::string s = "hq=" + std::to_string(hq) + " hkv=" + std::to_string(hkv) +
                    " m=" + std::to_string(m) + " n=" + std::to_string(n) +
                    " d=" + std::to_string(d) + " dv=" + std::to_string(dv) + " " +
                    std::string(ToString(kind));
    if (kind == AttentionKind::kRelu) {
      s += " alpha=" + std::to_string(alpha) + (per_query_b ? " b=per-query" : " b=" + std::to_string(b));
    }
    s += std::string(causal ? " causal" : "") + (decode ? " Decode" : " Prefill") +
         " threads=" + std::to_string(threads) + " offset=" + std::to_string(offset) +
         " pad=" + std::to_string(pad) + " q_range=" + std::to_string(q_range) +
         " scale=" + std::to_string(scale) + " seed=" + std::to_string(seed);
    return s;
  }
};

// Runs dense-hwy under the current target and checks output, stats and untouched padding.
void Check(const Case& c) {
  std::mt19937 rng(c.seed);
  Buffer q = MakeHeads(c.hq, c.m, c.d, c.offset, c.pad, rng, -c.q_range, c.q_range);
  Buffer k = MakeHeads(c.hkv, c.n, c.d, c.offset + 2, c.pad + 2, rng);
  Buffer v = MakeHeads(c.hkv, c.n, c.dv, c.offset + 1, c.pad, rng);
  Buffer out = MakeHeads(c.hq, c.m, c.dv, c.offset, c.pad, rng, 100.0f, 101.0f);
  const KvCache kv(k.view, v.view);
  std::vector<float> bq;
  AttentionParams p;
  p.kind = c.kind;
  p.alpha = c.alpha;
  p.b = c.b;
  p.causal = c.causal;
  if (c.scale > 0.0f) p.scale = c.scale;
  if (c.per_query_b) {
    std::uniform_real_distribution<float> dist(-0.3f, 0.6f);
    for (size_t i = 0; i < c.hq * c.m; ++i) bq.push_back(dist(rng));
    p.b_per_query = bq;
  }
  const std::vector<float> before = out.storage;

  // Both key orders of the decode rows kernel (score_block-inl.h): kDenseHwyInterleaved
  // keeps the interleaved order, 0 (the default) is the row (streaming) order. Their scores
  // are ScoreRun's bit for bit, so the outputs must be bit-identical, not merely close.
  Buffer out_stream = out;
  out_stream.view.data = out_stream.storage.data() + c.offset;
  DenseHwyBackend backend(c.threads, kDenseHwyInterleaved);
  DenseHwyBackend backend_stream(c.threads, 0);
  AttentionStats stats, stats_stream;
  if (c.decode) {
    backend.Decode(q.view, kv, p, out.view, &stats);
    backend_stream.Decode(q.view, kv, p, out_stream.view, &stats_stream);
  } else {
    backend.Prefill(q.view, kv, p, out.view, &stats);
    backend_stream.Prefill(q.view, kv, p, out_stream.view, &stats_stream);
  }
  const std::string where = "target " + DenseHwyTargetName() + ": " + c.Describe();
  for (size_t idx = 0; idx < out.storage.size(); ++idx) {
    ASSERT_EQ(std::bit_cast<uint32_t>(out.storage[idx]),
              std::bit_cast<uint32_t>(out_stream.storage[idx]))
        << where << ": streaming key order differs at storage index " << idx << ": "
        << out_stream.storage[idx] << " vs " << out.storage[idx];
  }
  EXPECT_EQ(stats_stream.empty_rows, stats.empty_rows) << where;

  const verify::Oracle oracle(q.view, kv, p);
  const verify::Comparison cmp = oracle.Compare(out.view);
  ASSERT_TRUE(cmp.ok) << where << "\n  " << cmp.Describe();

  const bool causal = c.causal;
  uint64_t keys = 0;
  for (size_t i = 0; i < c.m; ++i) keys += c.hq * VisibleKeys(causal, i, c.m, c.n);
  EXPECT_EQ(stats.queries, c.hq * c.m) << where;
  EXPECT_EQ(stats.keys_scored, keys) << where;
  if (oracle.ambiguous_rows() == 0) {
    EXPECT_EQ(stats.empty_rows, oracle.empty_rows()) << where;
  }
  EXPECT_EQ(stats.fallbacks, 0u) << where;
  // Nothing outside the output rows is written (padding keeps the fill pattern).
  const HeadsView& o = out.view;
  for (size_t idx = 0; idx < out.storage.size(); ++idx) {
    const size_t rel = idx - c.offset;
    const bool inside = idx >= c.offset && rel / o.head_stride < o.heads &&
                        (rel % o.head_stride) / o.stride < o.rows &&
                        (rel % o.head_stride) % o.stride < o.cols;
    if (!inside) {
      ASSERT_EQ(out.storage[idx], before[idx]) << where << ": wrote outside out at " << idx;
    }
  }
}

class DenseHwyTargetTest : public hwy::TestWithParamTarget {};
HWY_TARGET_INSTANTIATE_TEST_SUITE_P(DenseHwyTargetTest);

TEST_P(DenseHwyTargetTest, KeyCountsAcrossLanes) {
  // n = 0 .. 2 * 16 + 1 covers 0..2N+1 for every x86 target (N <= 16 floats).
  for (size_t d : {1u, 8u, 17u, 64u}) {
    for (size_t n = 0; n <= 33; ++n) {
      for (size_t m : {1u, 17u}) {
        Case c;
        c.d = c.dv = d;
        c.n = n;
        c.m = m;
        c.decode = m == 1;
        c.causal = true;
        c.seed = static_cast<unsigned>(n * 131 + d);
        Check(c);
        if (HasFatalFailure()) return;
      }
    }
  }
}

TEST_P(DenseHwyTargetTest, HeadDims) {
  for (size_t d : {1u, 3u, 7u, 8u, 9u, 15u, 16u, 17u, 31u, 32u, 33u, 64u, 127u, 128u, 129u,
                   256u}) {
    for (size_t m : {1u, 3u, 17u}) {
      for (AttentionKind kind : {AttentionKind::kSoftmax, AttentionKind::kRelu}) {
        Case c;
        c.d = d;
        c.dv = d == 256 ? 9 : d;  // one dv != d
        c.n = 37;
        c.m = m;
        c.kind = kind;
        c.alpha = 2;
        c.b = 0.05f;
        c.decode = m == 3;
        c.seed = static_cast<unsigned>(d * 7 + m);
        Check(c);
        if (HasFatalFailure()) return;
      }
    }
  }
}

TEST_P(DenseHwyTargetTest, CausalShapes) {
  const size_t shapes[][2] = {{17, 5}, {3, 40}, {40, 100}, {70, 70}, {100, 40}, {33, 200}};
  for (const auto& mn : shapes) {
    for (AttentionKind kind : {AttentionKind::kSoftmax, AttentionKind::kRelu}) {
      Case c;
      c.m = mn[0];
      c.n = mn[1];
      c.d = 33;
      c.dv = 16;
      c.kind = kind;
      c.alpha = 3;
      c.b = 0.1f;
      c.causal = true;
      c.threads = 2;
      Check(c);
      if (HasFatalFailure()) return;
    }
  }
}

TEST_P(DenseHwyTargetTest, GroupedQueryHeads) {
  for (size_t group = 1; group <= 8; ++group) {
    for (size_t m : {1u, 3u}) {
      for (bool decode : {true, false}) {
        Case c;
        c.hkv = 2;
        c.hq = 2 * group;
        c.m = m;
        c.n = 45;
        c.d = c.dv = 16;
        c.causal = true;  // Decode ignores it
        c.decode = decode;
        c.threads = 1 + group % 2;
        c.seed = static_cast<unsigned>(group * 10 + m);
        Check(c);
        if (HasFatalFailure()) return;
      }
    }
  }
}

TEST_P(DenseHwyTargetTest, ReluAlphaAndThresholds) {
  for (int alpha = 1; alpha <= 6; ++alpha) {
    for (size_t m : {1u, 17u}) {
      Case c;
      c.kind = AttentionKind::kRelu;
      c.alpha = alpha;
      c.m = m;
      c.n = 50;
      c.d = c.dv = 24;
      c.b = alpha % 2 ? 0.0f : 0.2f;
      c.per_query_b = alpha >= 5;
      c.causal = alpha % 3 == 0;
      c.seed = static_cast<unsigned>(alpha);
      Check(c);
      if (HasFatalFailure()) return;
    }
  }
  // Every score below b: all rows empty (zeros, counted), for both kernels.
  for (size_t m : {1u, 17u}) {
    for (bool decode : {true, false}) {
      Case c;
      c.kind = AttentionKind::kRelu;
      c.alpha = 4;
      c.b = 50.0f;
      c.m = m;
      c.n = 40;
      c.d = c.dv = 16;
      c.decode = decode;
      Check(c);
      if (HasFatalFailure()) return;
    }
  }
}

TEST_P(DenseHwyTargetTest, LargeScoresStayFinite) {
  // Scores up to ~|q| |k| d scale = 40 * 64 / 8 * ... : exp and powers far outside float
  // range unless computed relative to the running maximum.
  for (AttentionKind kind : {AttentionKind::kSoftmax, AttentionKind::kRelu}) {
    for (size_t m : {1u, 17u}) {
      Case c;
      c.kind = kind;
      c.alpha = 16;
      c.m = m;
      c.n = 300;
      c.d = c.dv = 64;
      c.q_range = 40.0f;
      c.scale = 3.0f;
      Check(c);
      if (HasFatalFailure()) return;
    }
  }
}

TEST_P(DenseHwyTargetTest, SplitKeysThousands) {
  // threads = 2 with n >= 2 * 4096 splits the keys (flash-decoding partials, merged).
  for (AttentionKind kind : {AttentionKind::kSoftmax, AttentionKind::kRelu}) {
    for (size_t m : {1u, 3u, 17u}) {
      Case c;
      c.kind = kind;
      c.alpha = 2;
      c.b = 0.3f;
      c.m = m;
      c.n = 9001;
      c.d = c.dv = 32;
      c.decode = true;
      c.threads = 2;
      c.offset = 0;
      c.pad = 0;
      Check(c);
      if (HasFatalFailure()) return;
    }
  }
  Case c;  // causal prefill, many tiles and both threads
  c.m = 300;
  c.n = 2000;
  c.d = c.dv = 64;
  c.causal = true;
  c.threads = 2;
  Check(c);
}

TEST_P(DenseHwyTargetTest, RejectsBadOutputShape) {
  std::mt19937 rng(3);
  Buffer q = MakeHeads(1, 2, 8, 0, 0, rng);
  Buffer k = MakeHeads(1, 5, 8, 0, 0, rng);
  Buffer out = MakeHeads(1, 2, 7, 0, 0, rng);  // dv is 8
  const KvCache kv(k.view, k.view);
  DenseHwyBackend backend;
  EXPECT_THROW(backend.Prefill(q.view, kv, AttentionParams{}, out.view, nullptr), Error);
  // The fixture expects dispatch to have happened once in this test.
  Buffer ok = MakeHeads(1, 2, 8, 0, 0, rng);
  backend.Decode(q.view, kv, AttentionParams{}, ok.view, nullptr);
}

}  // namespace
}  // namespace hsr
