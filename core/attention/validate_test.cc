// Bad inputs at the attention API boundary (validate.h, KvCache): every one throws hsr::Error
// with a one-line message saying what was expected and what was found, before any output is
// written. Checked through DenseRefBackend (Decode and Prefill); dense-hwy repeats a subset in
// verify/tests/dense_props.cc.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "core/attention/dense_ref.h"
#include "core/attention/validate.h"
#include "core/base/error.h"

namespace hsr {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kSentinel = -12345.0f;

// A small valid problem: Hq query heads, Hkv kv heads, m queries, n keys, d = dv.
struct Problem {
  size_t hq = 2, hkv = 1, m = 3, n = 5, d = 4, dv = 4;
  std::vector<float> q, k, v, out;

  Problem() { Fill(); }
  Problem(size_t hq_, size_t hkv_, size_t m_, size_t n_, size_t d_)
      : hq(hq_), hkv(hkv_), m(m_), n(n_), d(d_), dv(d_) {
    Fill();
  }
  void Fill() {
    q.resize(hq * m * d);
    k.resize(hkv * n * d);
    v.resize(hkv * n * dv);
    out.assign(hq * m * dv, kSentinel);
    for (size_t i = 0; i < q.size(); ++i) q[i] = 0.25f * static_cast<float>(i % 7) - 0.5f;
    for (size_t i = 0; i < k.size(); ++i) k[i] = 0.125f * static_cast<float>(i % 5) - 0.25f;
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i % 3) - 1.0f;
  }
  ConstHeadsView Q() const { return ConstHeadsView(q.data(), hq, m, d); }
  ConstHeadsView K() const { return ConstHeadsView(k.data(), hkv, n, d); }
  ConstHeadsView V() const { return ConstHeadsView(v.data(), hkv, n, dv); }
  HeadsView Out() { return HeadsView(out.data(), hq, m, dv); }
  bool OutUntouched() const {
    for (float x : out) {
      if (x != kSentinel) return false;
    }
    return true;
  }
};

// Runs f, expects hsr::Error, checks the message is one line, says "expected" and contains
// every string in found (what was found); returns the message.
std::string ExpectError(const std::function<void()>& f, const std::vector<std::string>& found) {
  try {
    f();
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    EXPECT_NE(msg.find("expected"), std::string::npos) << msg;
    for (const std::string& s : found) EXPECT_NE(msg.find(s), std::string::npos) << msg;
    return msg;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected hsr::Error, got another exception: " << e.what();
    return {};
  }
  ADD_FAILURE() << "expected hsr::Error, nothing was thrown";
  return {};
}

// Bad call through dense-ref Decode and Prefill: error with `found`, output untouched.
void ExpectBadCall(Problem& pr, const AttentionParams& p, const std::vector<std::string>& found,
                   HeadsView out_view = {}) {
  DenseRefBackend backend;
  const KvCache kv(pr.K(), pr.V());
  const HeadsView out = out_view.data != nullptr ? out_view : pr.Out();
  for (bool decode : {true, false}) {
    SCOPED_TRACE(decode ? "Decode" : "Prefill");
    AttentionStats stats;
    ExpectError(
        [&] {
          if (decode) {
            backend.Decode(pr.Q(), kv, p, out, &stats);
          } else {
            backend.Prefill(pr.Q(), kv, p, out, &stats);
          }
        },
        found);
    EXPECT_TRUE(pr.OutUntouched());
    EXPECT_EQ(stats.queries, 0u);
  }
}

AttentionParams Relu(int alpha, float b = 0.0f) {
  AttentionParams p;
  p.kind = AttentionKind::kRelu;
  p.alpha = alpha;
  p.b = b;
  return p;
}

TEST(ValidateTest, GoodProblemRuns) {
  Problem pr;
  DenseRefBackend backend;
  const KvCache kv(pr.K(), pr.V());
  AttentionStats stats;
  backend.Decode(pr.Q(), kv, AttentionParams{}, pr.Out(), &stats);
  EXPECT_EQ(stats.queries, pr.hq * pr.m);
  EXPECT_EQ(stats.empty_rows, 0u);
  for (float x : pr.out) EXPECT_TRUE(std::isfinite(x));
}

TEST(ValidateTest, NaNInQ) {
  Problem pr;
  pr.q[1 * pr.m * pr.d + 2 * pr.d + 3] = kNaN;  // head 1, row 2, col 3
  ExpectBadCall(pr, AttentionParams{}, {"Q", "finite", "nan", "head 1, row 2, col 3"});
}

TEST(ValidateTest, InfInQ) {
  Problem pr;
  pr.q[0] = -kInf;
  ExpectBadCall(pr, AttentionParams{}, {"Q", "-inf", "head 0, row 0, col 0"});
}

TEST(ValidateTest, InfInK) {
  Problem pr;
  pr.k[2 * pr.d + 1] = kInf;  // row 2, col 1
  ExpectError([&] { KvCache kv(pr.K(), pr.V()); }, {"K", "inf", "row 2, col 1"});
}

TEST(ValidateTest, NaNInV) {
  Problem pr;
  pr.v[4 * pr.dv] = kNaN;
  ExpectError([&] { KvCache kv(pr.K(), pr.V()); }, {"V", "nan", "row 4, col 0"});
}

TEST(ValidateTest, DMismatchBetweenQAndK) {
  Problem pr;
  // Q read with d = 3 (stride 3) against K with d = 4.
  const ConstHeadsView q3(pr.q.data(), pr.hq, pr.m, 3);
  DenseRefBackend backend;
  const KvCache kv(pr.K(), pr.V());
  for (bool decode : {true, false}) {
    ExpectError(
        [&] {
          if (decode) {
            backend.Decode(q3, kv, AttentionParams{}, pr.Out(), nullptr);
          } else {
            backend.Prefill(q3, kv, AttentionParams{}, pr.Out(), nullptr);
          }
        },
        {"d=4", "got d=3"});
    EXPECT_TRUE(pr.OutUntouched());
  }
}

TEST(ValidateTest, VRowsDifferFromKRows) {
  Problem pr;
  const ConstHeadsView v4(pr.v.data(), pr.hkv, pr.n - 1, pr.dv);
  ExpectError([&] { KvCache kv(pr.K(), v4); }, {"5 rows", "got 4"});
}

TEST(ValidateTest, KvHeadsDiffer) {
  Problem pr(2, 2, 3, 5, 4);
  const ConstHeadsView v1(pr.v.data(), 1, pr.n, pr.dv);
  ExpectError([&] { KvCache kv(pr.K(), v1); }, {"2 heads", "got 1"});
}

TEST(ValidateTest, AlphaZeroAndNegative) {
  for (int alpha : {0, -1, -7}) {
    Problem pr;
    ExpectBadCall(pr, Relu(alpha), {"alpha", "got " + std::to_string(alpha)});
  }
}

TEST(ValidateTest, AlphaTooLarge) {
  Problem pr;
  ExpectBadCall(pr, Relu(17), {"alpha", "got 17"});
}

TEST(ValidateTest, BadScale) {
  const std::vector<std::pair<float, std::string>> cases = {
      {0.0f, "got 0"}, {-0.5f, "got -0.5"}, {kNaN, "got nan"}, {kInf, "got inf"}};
  for (const auto& [scale, found] : cases) {
    SCOPED_TRACE(found);
    for (AttentionKind kind : {AttentionKind::kSoftmax, AttentionKind::kRelu}) {
      Problem pr;
      AttentionParams p = Relu(2);
      p.kind = kind;
      p.scale = scale;
      ExpectBadCall(pr, p, {"scale", found});
    }
  }
}

TEST(ValidateTest, DZero) {
  Problem pr(1, 1, 2, 3, 0);
  ExpectError([&] { KvCache kv(pr.K(), pr.V()); }, {"K", "d >= 1", "got d=0"});
  // Q with d = 0 against a valid cache.
  Problem good(1, 1, 2, 3, 4);
  const ConstHeadsView q0(good.q.data(), 1, 2, 0);
  DenseRefBackend backend;
  const KvCache kv(good.K(), good.V());
  ExpectError([&] { backend.Decode(q0, kv, AttentionParams{}, good.Out(), nullptr); },
              {"Q", "got d=0"});
  EXPECT_TRUE(good.OutUntouched());
}

TEST(ValidateTest, QueryHeadsNotMultipleOfKvHeads) {
  Problem pr(3, 2, 2, 4, 4);
  ExpectBadCall(pr, AttentionParams{}, {"multiple of kv heads (2)", "got 3"});
}

TEST(ValidateTest, OutputWrongShape) {
  Problem pr;
  // rows, heads, cols each off by one (the buffer is large enough for all of them).
  pr.out.assign(pr.hq * (pr.m + 1) * (pr.dv + 1) * 2, kSentinel);
  const std::vector<std::pair<HeadsView, std::string>> cases = {
      {HeadsView(pr.out.data(), pr.hq, pr.m + 1, pr.dv), "got [2, 4, 4]"},
      {HeadsView(pr.out.data(), pr.hq + 1, pr.m, pr.dv), "got [3, 3, 4]"},
      {HeadsView(pr.out.data(), pr.hq, pr.m, pr.dv + 1), "got [2, 3, 5]"},
      {HeadsView(pr.out.data(), pr.hq, pr.m, pr.dv - 1), "got [2, 3, 3]"}};
  for (const auto& [view, found] : cases) {
    SCOPED_TRACE(found);
    ExpectBadCall(pr, AttentionParams{}, {"[2, 3, 4]", found}, view);
  }
}

TEST(ValidateTest, OutputStrideTooSmall) {
  Problem pr;
  const HeadsView out(pr.out.data(), pr.hq, pr.m, pr.dv, pr.dv - 1, pr.m * pr.dv);
  ExpectBadCall(pr, AttentionParams{}, {"stride >= 4", "got stride 3"}, out);
}

TEST(ValidateTest, BPerQueryWrongSize) {
  Problem pr;
  const std::vector<float> b(pr.hq * pr.m - 1, 0.0f);
  AttentionParams p = Relu(1);
  p.b_per_query = b;
  ExpectBadCall(pr, p, {"6 per-query thresholds", "got 5"});
}

TEST(ValidateTest, BPerQueryNaN) {
  Problem pr;
  std::vector<float> b(pr.hq * pr.m, 0.0f);
  b[4] = kNaN;
  AttentionParams p = Relu(1);
  p.b_per_query = b;
  ExpectBadCall(pr, p, {"thresholds", "got nan"});
}

TEST(ValidateTest, ThresholdInf) {
  Problem pr;
  ExpectBadCall(pr, Relu(1, kInf), {"threshold b", "got inf"});
}

TEST(ValidateTest, ScoreOverflowBound) {
  Problem pr;
  for (float& x : pr.q) x = 1e20f;
  for (float& x : pr.k) x = -1e20f;
  // bound = scale * d * max|q| * max|k| = 0.5 * 4 * 1e40 = 2e40.
  ExpectBadCall(pr, AttentionParams{}, {"1e30", "2e+40"});
}

TEST(ValidateTest, CausalWithMoreQueriesThanKeysGivesZeroRows) {
  // m = 6 > n = 4: query i sees keys j <= i - 2, so rows 0 and 1 see nothing.
  Problem pr(2, 1, 6, 4, 4);
  DenseRefBackend backend;
  const KvCache kv(pr.K(), pr.V());
  for (AttentionKind kind : {AttentionKind::kSoftmax, AttentionKind::kRelu}) {
    AttentionParams p = Relu(1, -100.0f);  // every visible key has a positive ReLU weight
    p.kind = kind;
    p.causal = true;
    std::fill(pr.out.begin(), pr.out.end(), kSentinel);
    AttentionStats stats;
    backend.Prefill(pr.Q(), kv, p, pr.Out(), &stats);
    EXPECT_EQ(stats.queries, 12u);
    EXPECT_EQ(stats.empty_rows, 4u);  // 2 rows x 2 heads
    for (size_t h = 0; h < pr.hq; ++h) {
      for (size_t i = 0; i < pr.m; ++i) {
        for (size_t c = 0; c < pr.dv; ++c) {
          const float o = pr.out[(h * pr.m + i) * pr.dv + c];
          ASSERT_TRUE(std::isfinite(o));
          if (i < 2) {
            EXPECT_EQ(o, 0.0f) << "h=" << h << " i=" << i << " c=" << c;
          }
        }
      }
    }
  }
}

TEST(ValidateTest, SoftmaxOverNoKeysGivesZeros) {
  Problem pr(2, 2, 3, 0, 4);
  DenseRefBackend backend;
  const KvCache kv(pr.K(), pr.V());
  for (bool decode : {true, false}) {
    std::fill(pr.out.begin(), pr.out.end(), kSentinel);
    AttentionStats stats;
    if (decode) {
      backend.Decode(pr.Q(), kv, AttentionParams{}, pr.Out(), &stats);
    } else {
      backend.Prefill(pr.Q(), kv, AttentionParams{}, pr.Out(), &stats);
    }
    EXPECT_EQ(stats.empty_rows, pr.hq * pr.m);
    for (float o : pr.out) EXPECT_EQ(o, 0.0f);
  }
}

TEST(ValidateTest, ReluWithNoPositiveWeightGivesZeros) {
  Problem pr;
  DenseRefBackend backend;
  const KvCache kv(pr.K(), pr.V());
  AttentionStats stats;
  backend.Decode(pr.Q(), kv, Relu(3, 1e6f), pr.Out(), &stats);
  EXPECT_EQ(stats.empty_rows, pr.hq * pr.m);
  for (float o : pr.out) EXPECT_EQ(o, 0.0f);
}

}  // namespace
}  // namespace hsr
