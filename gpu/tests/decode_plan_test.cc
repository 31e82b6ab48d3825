// Split planning (gpu/attention/decode_plan.h): the splits cover [0, n) exactly once, each
// (but the last) holds keys_per_split keys, a multiple of the warps per block; rows of a kv
// head are all covered by row groups; the plan fills the device when n allows and never makes
// splits smaller than kMinKeysPerSplit only to fill it; bad shapes get one-line errors.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "core/base/error.h"
#include "gpu/attention/decode_plan.h"
#include "gpu/hsr/hsr_decode.h"

namespace hsr::gpu {
namespace {

void CheckPlan(size_t hq, size_t hkv, size_t m, size_t n, size_t d, size_t dv, size_t sms,
               size_t per_sm) {
  SCOPED_TRACE(testing::Message() << "hq=" << hq << " hkv=" << hkv << " m=" << m << " n=" << n
                                  << " d=" << d << " dv=" << dv << " sms=" << sms);
  const DecodePlan p = PlanDecode("test", hq, hkv, m, n, d, dv, sms, per_sm);
  SCOPED_TRACE(p.Describe());
  ASSERT_GE(p.splits, 1u);
  ASSERT_LE(p.splits, kMaxSplits);
  EXPECT_EQ(p.keys_per_split % kWarpsPerBlock, 0u);
  // Coverage: contiguous, disjoint, every key once, no empty split unless n == 0.
  size_t covered = 0;
  for (size_t s = 0; s < p.splits; ++s) {
    ASSERT_EQ(p.SplitBegin(s), covered);
    const size_t end = p.SplitEnd(s, n);
    if (n > 0) {
      ASSERT_GT(end, p.SplitBegin(s));
    }
    covered = end;
  }
  EXPECT_EQ(covered, n);
  // Rows: group * m per kv head, all in some row group.
  EXPECT_EQ(p.rows_per_kv, hq / hkv * m);
  EXPECT_GE(p.row_groups * kRowsPerBlock, p.rows_per_kv);
  EXPECT_LT((p.row_groups - 1) * kRowsPerBlock, std::max<size_t>(p.rows_per_kv, 1));
  // Widths.
  EXPECT_GE(p.dk_pad, d);
  EXPECT_EQ(p.dk_pad % 4, 0u);
  EXPECT_LT(p.dk_pad - d, 4u);
  EXPECT_GE(p.dv_pad, dv);
  EXPECT_EQ(p.dv_pad, 32 * p.values_per_lane);
  if (p.values_per_lane > 1) {
    EXPECT_GT(dv, 16 * p.values_per_lane);  // the smallest width that fits
  }
  // Occupancy: more splits only while each keeps >= kMinKeysPerSplit keys; then the device is
  // filled or every split is as small as allowed.
  if (p.splits > 1) {
    EXPECT_GE(n / p.splits, kMinKeysPerSplit - kWarpsPerBlock);
  }
  // Unless n limits the splits (each keeps >= kMinKeysPerSplit keys) or kMaxSplits does, the
  // blocks reach the target up to the rounding of ranges to multiples of kWarpsPerBlock: a
  // range grows by < 4 keys out of >= 256, so the split count shrinks by < 1/64.
  const size_t target = sms * per_sm;
  const size_t base = p.row_groups * hkv, wanted = (target + base - 1) / base;
  if (wanted <= n / kMinKeysPerSplit && wanted <= kMaxSplits) {
    EXPECT_GE(p.Blocks() * 65, target * 64);
  }
  // Not grossly over the target either (at most one extra split's worth of blocks).
  if (p.splits > 1) {
    EXPECT_LE(p.Blocks(), target + p.row_groups * hkv);
  }
}

TEST(DecodePlanTest, TypicalShapes) {
  CheckPlan(32, 8, 1, size_t{1} << 20, 128, 128, 132, 8);   // the bench decode point (GQA 4)
  CheckPlan(32, 32, 1, size_t{1} << 20, 128, 128, 132, 8);  // MHA
  CheckPlan(32, 8, 32768, 32768, 128, 128, 132, 8);         // prefill-sized rows
  CheckPlan(1, 1, 1, 0, 1, 1, 132, 8);                      // no keys
  CheckPlan(1, 1, 1, 3, 1, 1, 1, 1);
  CheckPlan(4, 2, 5, 1000, 17, 33, 108, 4);
}

TEST(DecodePlanTest, RandomShapes) {
  std::mt19937_64 rng(11);
  auto pick = [&](size_t lo, size_t hi) {
    return std::uniform_int_distribution<size_t>(lo, hi)(rng);
  };
  for (int t = 0; t < 3000; ++t) {
    const size_t hkv = pick(1, 16), group = pick(1, 8);
    const size_t n = pick(0, 3) == 0 ? pick(0, 100) : pick(0, size_t{1} << pick(8, 24));
    CheckPlan(hkv * group, hkv, pick(1, 64), n, pick(1, kMaxHeadDim), pick(1, kMaxValueDim),
              pick(1, 200), pick(1, 16));
  }
}

TEST(DecodePlanTest, SplitsCappedForHugeN) {
  const DecodePlan p = PlanDecode("test", 1, 1, 1, size_t{1} << 34, 8, 8, 100000, 64);
  EXPECT_EQ(p.splits, kMaxSplits);
}

TEST(DecodePlanTest, BadShapesGetOneLineErrors) {
  auto message = [](auto&& f) {
    try {
      f();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message([] { PlanDecode("dense-cuda Decode", 1, 1, 1, 10, 1025, 8, 1, 1); }),
            "dense-cuda Decode: expected 1 <= d <= 1024, got d=1025");
  EXPECT_EQ(message([] { PlanDecode("x", 1, 1, 1, 10, 8, 257, 1, 1); }),
            "x: expected 1 <= dv <= 256, got dv=257");
  EXPECT_EQ(message([] { PlanDecode("x", 3, 2, 1, 10, 8, 8, 1, 1); }),
            "x: expected q heads a multiple of kv heads >= 1, got Hq=3 Hkv=2");
  EXPECT_EQ(message([] { PlanDecode("x", 1, 1, 1, 10, 8, 8, 0, 1); }),
            "x: expected sm_count >= 1 and blocks_per_sm >= 1, got 0 and 1");
  EXPECT_TRUE(DecodeShapeSupported(128, 128));
  EXPECT_FALSE(DecodeShapeSupported(0, 128));
  EXPECT_FALSE(DecodeShapeSupported(128, 512));
}

// HSR accumulate: list splits per row fill the device, keep >= kMinCandidatesPerSplit
// candidates each (so a split is never empty for the longest list), stay in [1, kMaxSplits].
TEST(CandidatePlanTest, SplitsFillTheDeviceWithoutTinySplits) {
  std::mt19937_64 rng(5);
  auto pick = [&](size_t lo, size_t hi) {
    return std::uniform_int_distribution<size_t>(lo, hi)(rng);
  };
  for (int t = 0; t < 3000; ++t) {
    const size_t rows = pick(0, 4096), count = pick(0, size_t{1} << pick(0, 22));
    const size_t sms = pick(1, 200), per_sm = pick(1, 16);
    const size_t s = PlanCandidateSplits(rows, count, sms, per_sm);
    SCOPED_TRACE(testing::Message() << rows << " rows, " << count << " max, " << s << " splits");
    ASSERT_GE(s, 1u);
    ASSERT_LE(s, kMaxSplits);
    if (s > 1) {
      EXPECT_GE(count / s, kMinCandidatesPerSplit);
      EXPECT_LT((s - 1) * rows, sms * per_sm);  // no more than needed to reach the target
    }
    if (rows > 0 && s * rows < sms * per_sm && s < kMaxSplits) {
      EXPECT_LT(count / (s + 1), kMinCandidatesPerSplit);  // limited by the list length
    }
  }
}

}  // namespace
}  // namespace hsr::gpu
