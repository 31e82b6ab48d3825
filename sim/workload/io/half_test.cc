// half.h (float16 / bfloat16 -> float32) against an independent ldexp-based reference, for every
// one of the 65536 bit patterns: finite values compare exactly equal, infinities keep their sign,
// NaN stays NaN with its sign.
#include "sim/workload/io/half.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>

namespace hsr::sim {
namespace {

// Reference: value = (-1)^s * 2^(e - bias) * (1 + m / 2^mbits), subnormal 2^(1 - bias) * m / 2^mbits.
double Reference(uint32_t bits, int ebits, int mbits) {
  const uint32_t sign = bits >> (ebits + mbits);
  const uint32_t e = (bits >> mbits) & ((1u << ebits) - 1);
  const uint32_t m = bits & ((1u << mbits) - 1);
  const int bias = (1 << (ebits - 1)) - 1;
  double v;
  if (e == (1u << ebits) - 1) {
    v = m == 0 ? std::numeric_limits<double>::infinity() : std::numeric_limits<double>::quiet_NaN();
  } else if (e == 0) {
    v = std::ldexp(static_cast<double>(m), 1 - bias - mbits);
  } else {
    v = std::ldexp(static_cast<double>(m + (1u << mbits)), static_cast<int>(e) - bias - mbits);
  }
  return sign ? -v : v;
}

template <typename Convert>
void CheckAll(Convert convert, int ebits, int mbits, const char* what) {
  int finite = 0, inf = 0, nan = 0;
  for (uint32_t bits = 0; bits < 65536; ++bits) {
    const float got = convert(static_cast<uint16_t>(bits));
    const double want = Reference(bits, ebits, mbits);
    const bool negative = (bits & 0x8000u) != 0;
    if (std::isnan(want)) {
      ASSERT_TRUE(std::isnan(got)) << what << " bits=0x" << std::hex << bits << " got " << got;
      ASSERT_EQ(std::signbit(got), negative) << what << " NaN sign, bits=0x" << std::hex << bits;
      ++nan;
    } else {
      // Every float16 / bfloat16 value is exactly representable in float32 and in double.
      ASSERT_EQ(static_cast<double>(got), want) << what << " bits=0x" << std::hex << bits;
      ASSERT_EQ(std::signbit(got), negative) << what << " sign (incl. -0), bits=0x" << std::hex
                                             << bits;
      (std::isinf(want) ? inf : finite)++;
    }
  }
  EXPECT_EQ(inf, 2) << what;
  EXPECT_EQ(nan, 2 * ((1 << mbits) - 1)) << what;
  EXPECT_EQ(finite, 65536 - 2 - nan) << what;
}

TEST(HalfTest, AllFloat16ValuesMatchReference) { CheckAll(HalfToFloat, 5, 10, "float16"); }

TEST(HalfTest, AllBfloat16ValuesMatchReference) { CheckAll(Bf16ToFloat, 8, 7, "bfloat16"); }

TEST(HalfTest, Float16Landmarks) {
  EXPECT_EQ(HalfToFloat(0x3C00), 1.0f);
  EXPECT_EQ(HalfToFloat(0xC000), -2.0f);
  EXPECT_EQ(HalfToFloat(0x7BFF), 65504.0f);                 // largest finite
  EXPECT_EQ(HalfToFloat(0x0400), std::ldexp(1.0f, -14));    // smallest normal
  EXPECT_EQ(HalfToFloat(0x0001), std::ldexp(1.0f, -24));    // smallest subnormal
  EXPECT_EQ(HalfToFloat(0x03FF), std::ldexp(1023.0f, -24)); // largest subnormal
  EXPECT_TRUE(std::isinf(HalfToFloat(0x7C00)) && HalfToFloat(0x7C00) > 0);
  EXPECT_TRUE(std::isinf(HalfToFloat(0xFC00)) && HalfToFloat(0xFC00) < 0);
  EXPECT_TRUE(std::isnan(HalfToFloat(0x7E00)));
  EXPECT_EQ(Bf16ToFloat(0x3F80), 1.0f);
  EXPECT_EQ(Bf16ToFloat(0x0001), std::ldexp(1.0f, -133));   // bf16 subnormal
}

}  // namespace
}  // namespace hsr::sim
