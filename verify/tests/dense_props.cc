// Property: dense-hwy (core/attention/dense_hwy.h) equals the float64 oracle (verify/oracle.h)
// within the derived tolerance, under EVERY compiled and supported Highway target, for random
// shapes, layouts, kinds and thresholds; plus bad inputs through dense-hwy.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <hwy/targets.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/attention/dense_hwy.h"
#include "core/base/error.h"
#include "verify/oracle.h"
#include "verify/targets.h"
#include "verify/tests/attention_case.h"

namespace hsr::verify {
namespace {

std::vector<int64_t> Targets() { return CompiledTargets(); }

TEST(DenseHwyTargets, AtLeastOneTarget) {
  const std::vector<int64_t> targets = Targets();
  ASSERT_FALSE(targets.empty());
  std::string names;
  for (int64_t t : targets) names += std::string(" ") + hwy::TargetName(t);
  std::cout << "Highway targets checked:" << names << "\n";
}

RC_GTEST_PROP(DenseHwyProps, EqualsFloat64OracleWithinDerivedToleranceOnEveryTarget, ()) {
  const AttentionCase c = *GenAttentionCase();
  // Decode rows kernel key order (score_block-inl.h): the row ("streaming") order is the
  // default; keep the interleaved one in half the cases. The decode rows kernel runs with
  // fewer query rows per kv head than lanes; the targeted check is dense_hwy_test.cc, which
  // requires both orders to be bit-identical.
  const bool stream_order = *rc::gen::arbitrary<bool>();
  RC_LOG() << c.Describe() << (stream_order ? "" : " stream_bytes=interleaved") << "\n";
  CaseBuffers buf(c);
  const Oracle oracle(buf.Q(), buf.Kv(), buf.Params());
  RC_CLASSIFY(stream_order, "row key order");
  RC_CLASSIFY(c.kind == AttentionKind::kSoftmax, "softmax");
  RC_CLASSIFY(c.kind == AttentionKind::kRelu, "relu");
  RC_CLASSIFY(oracle.empty_rows() > 0, "empty rows");
  RC_CLASSIFY(c.n > 300, "n > 300");
  for (int64_t target : Targets()) {
    const ForceTarget force(target);
    DenseHwyBackend backend(c.threads, stream_order ? 0 : kDenseHwyInterleaved);
    buf.ResetOut();
    AttentionStats stats;
    buf.Run(backend, &stats);
    const Comparison cmp = oracle.Compare(buf.Out());
    RC_LOG() << hwy::TargetName(target) << ": " << cmp.Describe() << " empty_rows "
             << stats.empty_rows << " (oracle " << oracle.empty_rows() << ", ambiguous "
             << oracle.ambiguous_rows() << ")\n";
    RC_ASSERT(cmp.ok);
    RC_ASSERT(buf.PaddingUntouched());
    RC_ASSERT(stats.queries == c.hq * c.m);
    // Rows empty in float64 may round non-empty only where the oracle says it is ambiguous.
    RC_ASSERT(stats.empty_rows + oracle.ambiguous_rows() >= oracle.empty_rows());
    RC_ASSERT(stats.empty_rows <= oracle.empty_rows() + oracle.ambiguous_rows());
  }
}

// Bad inputs through dense-hwy: same expectations as core/attention/validate_test.cc.
void ExpectBadCall(const std::vector<float>& q_data, size_t q_d, const std::string& found) {
  constexpr size_t kHq = 2, kM = 3, kN = 5, kD = 4;
  constexpr float kSentinel = -12345.0f;
  std::vector<float> k(kN * kD, 0.25f), v(kN * kD, -0.5f);
  const KvCache kv(ConstHeadsView(k.data(), 1, kN, kD), ConstHeadsView(v.data(), 1, kN, kD));
  const ConstHeadsView q(q_data.data(), kHq, kM, q_d);
  for (int64_t target : Targets()) {
    const ForceTarget force(target);
    for (bool decode : {true, false}) {
      SCOPED_TRACE(std::string(hwy::TargetName(target)) + (decode ? " Decode" : " Prefill"));
      std::vector<float> out(kHq * kM * kD, kSentinel);
      DenseHwyBackend backend(2);
      AttentionStats stats;
      try {
        if (decode) {
          backend.Decode(q, kv, AttentionParams{}, HeadsView(out.data(), kHq, kM, kD), &stats);
        } else {
          backend.Prefill(q, kv, AttentionParams{}, HeadsView(out.data(), kHq, kM, kD), &stats);
        }
        ADD_FAILURE() << "expected hsr::Error, nothing was thrown";
      } catch (const Error& e) {
        const std::string msg = e.what();
        EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
        EXPECT_NE(msg.find("expected"), std::string::npos) << msg;
        EXPECT_NE(msg.find(found), std::string::npos) << msg;
      }
      for (float x : out) EXPECT_EQ(x, kSentinel);
      EXPECT_EQ(stats.queries, 0u);
    }
  }
}

TEST(DenseHwyBadInput, NaNInQ) {
  std::vector<float> q(2 * 3 * 4, 0.5f);
  q[1 * 12 + 2 * 4 + 1] = std::numeric_limits<float>::quiet_NaN();
  ExpectBadCall(q, 4, "got nan at [head 1, row 2, col 1]");
}

TEST(DenseHwyBadInput, DMismatchBetweenQAndK) {
  std::vector<float> q(2 * 3 * 3, 0.5f);
  ExpectBadCall(q, 3, "got d=3");
}

}  // namespace
}  // namespace hsr::verify
