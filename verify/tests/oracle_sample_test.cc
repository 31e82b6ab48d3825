// The bench's oracle sample: rows where a score sits at the ReLU threshold are flagged and left
// out of max_abs_err (their output may jump by a whole value row), while every element is still
// held to its derived tolerance (beyond_tol counts the ones that are not).
#include "verify/oracle_sample.h"

#include <gtest/gtest.h>

#include <vector>

#include "core/attention/kv_cache.h"
#include "core/attention/params.h"

namespace hsr::verify {
namespace {

// Causal prefill, m = n = 4, d = dv = 2, scale 1. Row 0 sees key 0 only and its threshold is
// that key's score rounded to float (0.3f): float32 and float64 may put the score on either side,
// so the row may be empty (0) or v_0. Rows 1-3 have b = -10: every visible key is in.
struct TieCase {
  std::vector<float> q = {1, 0, 0.5f, 0.25f, -0.5f, 1, 1, 1};
  std::vector<float> k = {0.3f, 0, 1, -1, 0.25f, 0.5f, -1, 2};
  std::vector<float> v = {4, -3, 1, 2, -2, 0.5f, 3, 3};
  std::vector<float> b = {0.3f, -10, -10, -10};
  AttentionParams p;
  TieCase() {
    p.kind = AttentionKind::kRelu;
    p.alpha = 2;
    p.scale = 1.0f;
    p.causal = true;
    p.b_per_query = b;
  }
  ConstHeadsView Q() const { return {q.data(), 1, 4, 2}; }
  KvCache Kv() const { return KvCache(ConstHeadsView(k.data(), 1, 4, 2), ConstHeadsView(v.data(), 1, 4, 2)); }
};

TEST(OracleSampleTest, RowAtThresholdIsAmbiguousAndLeftOutOfMaxErr) {
  const TieCase c;
  const KvCache kv = c.Kv();
  const OracleSample s = ComputeOracleSample(c.Q(), kv, c.p, 1e9, 1);
  ASSERT_EQ(s.rows.size(), 4u);
  EXPECT_EQ(s.ambiguous, (std::vector<char>{1, 0, 0, 0}));
  // Backend output: the oracle's rows in float, with row 0 flipped to v_0 (a legitimate float32
  // outcome: the key's score rounds above b).
  std::vector<float> out(8);
  for (size_t i = 0; i < 8; ++i) out[i] = static_cast<float>(s.expected[i]);
  out[0] = c.v[0];
  out[1] = c.v[1];
  const SampleError e = CompareToSample(s, ConstHeadsView(out.data(), 1, 4, 2));
  EXPECT_EQ(e.ambiguous_rows, 1u);
  EXPECT_EQ(e.beyond_tol, 0u);  // v_0 is inside row 0's hull tolerance
  EXPECT_LT(e.max_abs_err, 1e-6);
  // A wrong value in an unambiguous row is counted and shows in max_abs_err.
  out[5] += 0.1f;
  const SampleError bad = CompareToSample(s, ConstHeadsView(out.data(), 1, 4, 2));
  EXPECT_EQ(bad.beyond_tol, 1u);
  EXPECT_GT(bad.max_abs_err, 0.09);
  // And a value outside the hull in the ambiguous row too.
  out[5] -= 0.1f;
  out[0] = 100.0f;
  EXPECT_EQ(CompareToSample(s, ConstHeadsView(out.data(), 1, 4, 2)).beyond_tol, 1u);
}

// weighted counts the keys with a positive float64 weight per sampled row: the value rows a
// dense kernel that skips zero weights reads (bench bytes_read for dense ReLU decode).
TEST(OracleSampleTest, WeightedCountsKeysWithPositiveWeight) {
  TieCase c;
  // Scores (scale 1) of rows 0-3 over their visible keys: {0.3}, {0.15, 0.25},
  // {-0.15, -1.5, 0.375}, {0.3, 0, 0.75, 1}; with b = 0 (row 0: -10) a score of exactly 0 is out.
  const std::vector<float> b = {-10, 0, 0, 0};
  c.p.b_per_query = b;
  const KvCache kv = c.Kv();
  const OracleSample relu = ComputeOracleSample(c.Q(), kv, c.p, 1e9, 1);
  EXPECT_EQ(relu.weighted, (std::vector<size_t>{1, 2, 1, 3}));
  // The tie row: its only key's score equals b in float64, so nothing is weighted.
  c.p.b_per_query = c.b;
  EXPECT_EQ(ComputeOracleSample(c.Q(), kv, c.p, 1e9, 1).weighted[0], 0u);
  // Softmax weighs every visible key.
  c.p.kind = AttentionKind::kSoftmax;
  c.p.b_per_query = {};
  EXPECT_EQ(ComputeOracleSample(c.Q(), kv, c.p, 1e9, 1).weighted,
            (std::vector<size_t>{1, 2, 3, 4}));
}

}  // namespace
}  // namespace hsr::verify
