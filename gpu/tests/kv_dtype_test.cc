// Storage conversions (gpu/base/kv_dtype.h) against CUDA's own host conversions
// (cuda_fp16.h / cuda_bf16.h, the ones the device uses), an independent exact reference
// (ldexp), and the nearest-value property, exhaustively over 16-bit patterns and on random and
// edge-case floats.
#include <gtest/gtest.h>

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <bit>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "core/base/error.h"
#include "gpu/base/kv_dtype.h"

namespace hsr::gpu {
namespace {

uint16_t CudaHalfBits(float x) {
  return static_cast<__half_raw>(__float2half_rn(x)).x;
}
uint16_t CudaBf16Bits(float x) {
  return static_cast<__nv_bfloat16_raw>(__float2bfloat16_rn(x)).x;
}

// Independent decoding of a half: (-1)^s 2^(e-15) (1 + f/1024), subnormal 2^-14 (f/1024).
double HalfReference(uint16_t h) {
  const int e = (h >> 10) & 0x1F, f = h & 0x3FF;
  const double mag = e == 0 ? std::ldexp(f, -24) : std::ldexp(1024 + f, e - 25);
  return (h & 0x8000) ? -mag : mag;
}

TEST(KvDtypeTest, HalfToFloatExactForEveryFinitePattern) {
  for (uint32_t b = 0; b < 65536; ++b) {
    const uint16_t h = static_cast<uint16_t>(b);
    if (((h >> 10) & 0x1F) == 0x1F) {
      EXPECT_FALSE(std::isfinite(HalfBitsToFloat(h))) << b;
      continue;
    }
    ASSERT_EQ(static_cast<double>(HalfBitsToFloat(h)), HalfReference(h)) << b;
    __half_raw raw;
    raw.x = h;
    const __half ch(raw);
    ASSERT_EQ(HalfBitsToFloat(h), __half2float(ch)) << b;
    // Every finite half survives the trip back unchanged (the packed values the device reads
    // are exactly the rounded floats the tests give the oracle).
    ASSERT_EQ(FloatToHalfBits(HalfBitsToFloat(h)), h) << b;
  }
}

TEST(KvDtypeTest, Bf16ToFloatExactForEveryFinitePattern) {
  for (uint32_t b = 0; b < 65536; ++b) {
    const uint16_t h = static_cast<uint16_t>(b);
    const float f = Bf16BitsToFloat(h);
    if (!std::isfinite(f)) continue;
    __nv_bfloat16_raw raw;
    raw.x = h;
    const __nv_bfloat16 ch(raw);
    ASSERT_EQ(f, __bfloat162float(ch)) << b;
    ASSERT_EQ(FloatToBf16Bits(f), h) << b;
  }
}

// Floats to test: random bit patterns (all exponents), random normals, halfway points between
// consecutive halves / bf16s (ties), and the edges of the ranges.
std::vector<float> Probes() {
  std::vector<float> xs = {0.0f, -0.0f, 1.0f, 65504.0f, 65519.99f, 65520.0f, -65520.0f,
                           0x1p-14f, 0x1p-24f, 0x1p-25f, 0x1.0000002p-25f, 0x1p-26f,
                           FLT_MAX, -FLT_MAX, FLT_MIN, 0x1p-149f, 3.3895e38f, 3.39e38f};
  std::mt19937 rng(7);
  std::uniform_int_distribution<uint32_t> bits;
  std::normal_distribution<float> gauss(0.0f, 4.0f);
  for (int i = 0; i < 200000; ++i) {
    const float x = std::bit_cast<float>(bits(rng));
    if (std::isfinite(x)) xs.push_back(x);
    xs.push_back(gauss(rng));
  }
  for (uint32_t b = 0; b < 0x7C00; b += 7) {  // half ties: value + half an ulp
    const double lo = HalfReference(static_cast<uint16_t>(b));
    const double hi = HalfReference(static_cast<uint16_t>(b + 1));
    xs.push_back(static_cast<float>((lo + hi) / 2));
    xs.push_back(-static_cast<float>((lo + hi) / 2));
  }
  for (uint32_t b = 0; b < 0x7F80; b += 5) {  // bf16 ties
    xs.push_back(std::bit_cast<float>((b << 16) | 0x8000u));
  }
  return xs;
}

TEST(KvDtypeTest, FloatToHalfMatchesCudaRoundToNearestEven) {
  for (float x : Probes()) {
    ASSERT_EQ(FloatToHalfBits(x), CudaHalfBits(x)) << std::hexfloat << x;
  }
}

TEST(KvDtypeTest, FloatToBf16MatchesCudaRoundToNearestEven) {
  for (float x : Probes()) {
    ASSERT_EQ(FloatToBf16Bits(x), CudaBf16Bits(x)) << std::hexfloat << x;
  }
}

// Independent of CUDA: the rounded value is a nearest representable one, and within half an
// ulp (relative 2^-11 for half normals, 2^-8 for bf16) of x.
TEST(KvDtypeTest, RoundTripIsNearestWithinHalfUlp) {
  for (float x : Probes()) {
    const double ax = std::fabs(static_cast<double>(x));
    if (ax <= 65504.0) {
      const double r = RoundTrip(KvDtype::kF16, x);
      const double bound = ax >= 0x1p-14 ? ax * 0x1p-11 : 0x1p-25;  // subnormal spacing 2^-24
      ASSERT_LE(std::fabs(r - x), bound) << std::hexfloat << x;
    }
    if (ax <= MaxFinite(KvDtype::kBf16)) {
      const double r = RoundTrip(KvDtype::kBf16, x);
      ASSERT_LE(std::fabs(r - x), std::max(ax * 0x1p-8, 0x1p-134)) << std::hexfloat << x;
    }
    ASSERT_EQ(RoundTrip(KvDtype::kF32, x), x);
  }
}

TEST(KvDtypeTest, OverflowBecomesInfinity) {
  EXPECT_TRUE(std::isinf(RoundTrip(KvDtype::kF16, 65520.0f)));
  EXPECT_EQ(RoundTrip(KvDtype::kF16, 65519.0f), 65504.0f);
  EXPECT_TRUE(std::isinf(RoundTrip(KvDtype::kBf16, FLT_MAX)));
  EXPECT_EQ(RoundTrip(KvDtype::kBf16, MaxFinite(KvDtype::kBf16)), MaxFinite(KvDtype::kBf16));
}

TEST(KvDtypeTest, ParseAndNames) {
  for (KvDtype t : {KvDtype::kF32, KvDtype::kF16, KvDtype::kBf16}) {
    EXPECT_EQ(ParseKvDtype(ToString(t)), t);
  }
  EXPECT_EQ(BytesPerElement(KvDtype::kF32), 4u);
  EXPECT_EQ(BytesPerElement(KvDtype::kBf16), 2u);
  try {
    ParseKvDtype("fp8");
    FAIL() << "expected hsr::Error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "kv dtype: expected one of f32, f16, bf16, got 'fp8'");
  }
}

}  // namespace
}  // namespace hsr::gpu
