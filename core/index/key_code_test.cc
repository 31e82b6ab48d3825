// Blocked key codes (key_code.h) and their per-target integer dots (key_code-inl.h) under every
// compiled Highway target against an int64 loop: exact for random and extreme codes and queries
// (|q| = 8191 with codes +-127, up to d = 2064 where the u8 x s8 partial sums wrap modulo 2^32
// but I stays below 2^31), d across the 4-dim groups and the 16-key blocks, n not a multiple of
// 16, appends crossing block boundaries (growing from an empty reservation), the padding keys of
// the last block, calls starting at a later block; the query split for every 13-bit value.
#ifndef HWY_COMPILE_ALL_ATTAINABLE
#define HWY_COMPILE_ALL_ATTAINABLE  // test the same targets that hsr_core compiles
#endif

#include "core/index/key_code.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "core/base/error.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "core/index/key_code_test.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "core/index/key_code-inl.h"

HWY_BEFORE_NAMESPACE();
namespace hsr {
namespace HWY_NAMESPACE {
namespace {

using index_detail::CodeGroups;
using index_detail::KeyCodes;
using index_detail::kQueryCodeMax;
using index_detail::QueryWords;

// Codes and query of one case: mode 0 random, 1 every code +127 and q +8191, 2 signs alternating
// by dim and key (the largest |<q, k8>| of either sign), 3 codes -127 / q +-8191 random signs.
struct DotCase {
  size_t n = 0, d = 0;
  int mode = 0;
  int32_t extra = 0;
  std::vector<int8_t> k8;   // n x d
  std::vector<int16_t> q;   // d
};

DotCase MakeCase(size_t n, size_t d, int mode, std::mt19937& rng) {
  DotCase c;
  c.n = n;
  c.d = d;
  c.mode = mode;
  std::uniform_int_distribution<int> code(-127, 127), qv(-kQueryCodeMax, kQueryCodeMax);
  std::uniform_int_distribution<int> extra(-4096, 64 * static_cast<int>(d) + 1);
  c.extra = mode == 0 ? extra(rng) : 64 * static_cast<int32_t>(d) + 1;  // sketch8's largest D
  c.k8.resize(n * d);
  c.q.resize(d);
  for (size_t j = 0; j < n; ++j) {
    for (size_t x = 0; x < d; ++x) {
      int v = code(rng);
      if (mode == 1) v = 127;
      if (mode == 2) v = ((j + x) % 2 == 0) ? 127 : -127;
      if (mode == 3) v = -127;
      c.k8[j * d + x] = static_cast<int8_t>(v);
    }
  }
  for (size_t x = 0; x < d; ++x) {
    int v = qv(rng);
    if (mode == 1) v = kQueryCodeMax;
    if (mode == 2) v = (x % 2 == 0) ? kQueryCodeMax : -kQueryCodeMax;
    if (mode == 3) v = (rng() % 2 == 0) ? kQueryCodeMax : -kQueryCodeMax;
    c.q[x] = static_cast<int16_t>(v);
  }
  return c;
}

int64_t ExactDot(const DotCase& c, size_t j) {
  int64_t s = c.extra;
  for (size_t x = 0; x < c.d; ++x) s += int64_t{c.q[x]} * int64_t{c.k8[j * c.d + x]};
  return s;
}

void CheckCase(const DotCase& c, size_t reserve) {
  const std::string what = std::string(hwy::TargetName(HWY_TARGET)) + " n=" +
                           std::to_string(c.n) + " d=" + std::to_string(c.d) + " mode=" +
                           std::to_string(c.mode) + " extra=" + std::to_string(c.extra) +
                           " reserve=" + std::to_string(reserve);
  KeyCodes codes;
  codes.Reset(c.d, reserve);
  for (size_t j = 0; j < c.n; ++j) codes.Append(c.k8.data() + j * c.d);
  ASSERT_EQ(codes.n(), c.n) << what;
  ASSERT_EQ(codes.groups(), CodeGroups(c.d)) << what;
  const index_detail::CodeBlocks view = codes.View();
  ASSERT_EQ(reinterpret_cast<uintptr_t>(view.data) % 64, 0u) << what;
  // The layout reads back every code (and 0 in the padding dims).
  for (size_t j = 0; j < c.n; ++j) {
    for (size_t x = 0; x < 4 * codes.groups(); ++x) {
      ASSERT_EQ(view.Code(j, x), x < c.d ? int{c.k8[j * c.d + x]} : 0) << what << " " << j;
    }
  }
  QueryWords w;
  index_detail::EncodeQuery(c.q, codes.groups(), c.extra, &w);
  const size_t blocks = (c.n + 15) / 16;
  std::vector<int32_t> got(blocks * 16, -7), portable(blocks * 16, -7);
  CodeDots(view, 0, blocks, w, CodeRead::kStream, got.data());
  CodeDotsPortable(view, 0, blocks, w, portable.data());
  for (size_t j = 0; j < blocks * 16; ++j) {
    // Keys past n in the last block hold k8 = 0: their I is extra.
    const int64_t want = j < c.n ? ExactDot(c, j) : c.extra;
    ASSERT_LT(want < 0 ? -want : want, int64_t{1} << 31) << what;  // the case obeys the limit
    ASSERT_EQ(int64_t{got[j]}, want) << what << " key " << j << " kernel " << CodeDotsKernel();
    ASSERT_EQ(int64_t{portable[j]}, want) << what << " key " << j << " (portable)";
  }
  if (blocks > 1) {  // a call starting at block 1 scores the same keys
    std::vector<int32_t> later((blocks - 1) * 16, -7);
    // ... and so does the other read mode (it changes only the prefetching).
    CodeDots(view, 1, blocks - 1, w, CodeRead::kResident, later.data());
    for (size_t i = 0; i < later.size(); ++i) ASSERT_EQ(later[i], got[16 + i]) << what << " " << i;
  }
}

HWY_NOINLINE void TestCodeDotsExact() {
  std::mt19937 rng(12345);
  for (size_t d : {1u, 3u, 4u, 5u, 15u, 16u, 17u, 31u, 33u, 64u, 100u, 128u, 129u, 256u}) {
    for (size_t n : {1u, 15u, 16u, 17u, 47u, 100u}) {
      for (int mode = 0; mode < 4; ++mode) {
        // reserve 0: every block appended after a growth; reserve n: no growth.
        CheckCase(MakeCase(n, d, mode, rng), (mode % 2 == 0) ? 0 : n);
        if (::testing::Test::HasFatalFailure()) return;
      }
    }
  }
  // d = 2064: the widest d where sketch8's Qmax stays 8191; 128 <hi, u> reaches ~4.3e9 (wraps
  // modulo 2^32) while I = +-(8191 127 2064) + 132097 stays below 2^31.
  for (int mode = 1; mode < 4; ++mode) {
    CheckCase(MakeCase(20, 2064, mode, rng), 0);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

HWY_NOINLINE void TestKernelOfTarget() {
  const std::string kernel = CodeDotsKernel();
  std::string want = "portable";
  if (HWY_TARGET == HWY_AVX3_DL) {
    want = "vpdpbusd";
  } else if (HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_SSE4 ||
             HWY_TARGET == HWY_SSSE3) {
    want = "vpmaddubsw";
  }
  EXPECT_EQ(kernel, want) << hwy::TargetName(HWY_TARGET);
  std::cout << "key code dots on " << hwy::TargetName(HWY_TARGET) << ": " << kernel << "\n";
}

}  // namespace
// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace hsr
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "hwy/tests/hwy_gtest.h"
#include "verify/targets.h"

namespace hsr {
namespace {

class KeyCodeTargetTest : public hwy::TestWithParamTarget {};
HWY_TARGET_INSTANTIATE_TEST_SUITE_P(KeyCodeTargetTest);
HWY_EXPORT_AND_TEST_P(KeyCodeTargetTest, TestCodeDotsExact);
HWY_EXPORT_AND_TEST_P(KeyCodeTargetTest, TestKernelOfTarget);

// The targets above are those this CPU supports; compiled ones it lacks are skipped, and said so.
TEST(KeyCodeTargets, CompiledTargetsThisCpuLacks) {
  const std::string lacking = verify::CompiledTargetsThisCpuLacks();
  if (!lacking.empty()) GTEST_SKIP() << "compiled, not supported by this CPU (not run):" << lacking;
}

TEST(KeyCode, QuerySplitCoversEvery13BitValue) {
  for (int v = -index_detail::kQueryCodeMax; v <= index_detail::kQueryCodeMax; ++v) {
    const std::vector<int16_t> q = {0, static_cast<int16_t>(v), 0, 0, static_cast<int16_t>(-v)};
    index_detail::QueryWords w;
    index_detail::EncodeQuery(q, 2, 5, &w);
    ASSERT_EQ(w.q.size(), 8u);
    ASSERT_EQ(w.q[1], v);
    ASSERT_EQ(w.q[4], -v);
    // Byte 1 of word 0 and byte 0 of word 1: hi and lo of v and of -v.
    const int hi = static_cast<int8_t>((w.hi[0] >> 8) & 0xFF), lo = static_cast<int8_t>((w.lo[0] >> 8) & 0xFF);
    const int hi_n = static_cast<int8_t>(w.hi[1] & 0xFF), lo_n = static_cast<int8_t>(w.lo[1] & 0xFF);
    ASSERT_EQ(128 * hi + lo, v);
    ASSERT_EQ(128 * hi_n + lo_n, -v);
    // vpmaddubsw cannot saturate: |hi|, |lo| <= 64 (2 * 255 * 64 < 32767).
    ASSERT_TRUE(hi >= -64 && hi <= 64 && lo >= -64 && lo <= 63) << v;
    ASSERT_TRUE(hi_n >= -64 && hi_n <= 64 && lo_n >= -64 && lo_n <= 63) << v;
    ASSERT_EQ(w.hi[0] & 0xFFFF00FFu, 0u);  // the other dims are zero
    ASSERT_EQ(w.offset, static_cast<uint32_t>(128 * (v - v) - 5));
  }
}

TEST(KeyCode, RejectsOutOfRangeInput) {
  index_detail::QueryWords w;
  const std::vector<int16_t> big = {8192};
  EXPECT_THROW(index_detail::EncodeQuery(big, 1, 0, &w), Error);
  const std::vector<int16_t> wide(9, 1);
  EXPECT_THROW(index_detail::EncodeQuery(wide, 2, 0, &w), Error);
  index_detail::KeyCodes codes;
  EXPECT_THROW(codes.Reset(0, 4), Error);
  codes.Reset(3, 0);
  std::vector<int8_t> rows(2);
  EXPECT_THROW(codes.CopyRows(2, rows.data()), Error);
}

TEST(KeyCode, CopyRowsIsRowMajorWithZeroPadding) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> code(-127, 127);
  for (size_t d : {1u, 5u, 33u}) {
    for (size_t n : {0u, 1u, 16u, 37u}) {
      index_detail::KeyCodes codes;
      codes.Reset(d, 1);
      std::vector<int8_t> k8(n * d);
      for (int8_t& x : k8) x = static_cast<int8_t>(code(rng));
      for (size_t j = 0; j < n; ++j) codes.Append(k8.data() + j * d);
      const size_t stride = (d + 31) / 32 * 32;
      std::vector<int8_t> rows(n * stride, 99);
      codes.CopyRows(stride, rows.data());
      for (size_t j = 0; j < n; ++j) {
        for (size_t x = 0; x < stride; ++x) {
          ASSERT_EQ(rows[j * stride + x], x < d ? k8[j * d + x] : 0) << d << " " << n << " " << j;
        }
      }
    }
  }
}

}  // namespace
}  // namespace hsr
#endif  // HWY_ONCE
