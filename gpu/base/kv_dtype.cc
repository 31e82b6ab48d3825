#include "gpu/base/kv_dtype.h"

#include <bit>
#include <cfloat>
#include <cmath>

#include "core/base/error.h"

namespace hsr::gpu {

std::string_view ToString(KvDtype t) {
  switch (t) {
    case KvDtype::kF32: return "f32";
    case KvDtype::kF16: return "f16";
    case KvDtype::kBf16: return "bf16";
  }
  return "?";
}

KvDtype ParseKvDtype(std::string_view name) {
  if (name == "f32") return KvDtype::kF32;
  if (name == "f16") return KvDtype::kF16;
  if (name == "bf16") return KvDtype::kBf16;
  Fail("kv dtype: expected one of f32, f16, bf16, got '{}'", name);
}

size_t BytesPerElement(KvDtype t) { return t == KvDtype::kF32 ? 4 : 2; }

float MaxFinite(KvDtype t) {
  switch (t) {
    case KvDtype::kF32: return FLT_MAX;
    case KvDtype::kF16: return 65504.0f;
    case KvDtype::kBf16: return std::bit_cast<float>(uint32_t{0x7F7F0000u});
  }
  return 0.0f;
}

uint16_t FloatToHalfBits(float x) {
  const uint32_t f = std::bit_cast<uint32_t>(x);
  const uint16_t sign = static_cast<uint16_t>((f >> 16) & 0x8000u);
  const uint32_t abs = f & 0x7FFFFFFFu;
  if (abs >= 0x7F800000u) {  // Inf or NaN (keep NaN quiet and non-zero)
    return static_cast<uint16_t>(sign | 0x7C00u | (abs > 0x7F800000u ? 0x200u : 0u));
  }
  // Values >= 65520 round to Inf (65504 + half an ulp of 32).
  if (abs >= 0x477FF000u) return static_cast<uint16_t>(sign | 0x7C00u);
  const int exp = static_cast<int>(abs >> 23) - 127;
  if (exp >= -14) {  // normal half: keep 10 mantissa bits, round the 13 dropped ones
    const uint32_t mant = abs & 0x7FFFFFu;
    uint32_t h = (static_cast<uint32_t>(exp + 15) << 10) | (mant >> 13);
    const uint32_t rest = mant & 0x1FFFu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;  // carry may bump the exponent
    return static_cast<uint16_t>(sign | h);
  }
  if (exp < -25) return sign;  // below half the smallest subnormal (2^-25): rounds to 0
  // Subnormal half: value = mant24 * 2^(exp - 23); units of 2^-24 -> shift by (-exp - 1).
  const uint32_t mant = (abs & 0x7FFFFFu) | 0x800000u;
  const int shift = -exp - 1;  // 14..24
  uint32_t h = mant >> shift;
  const uint32_t rest = mant & ((1u << shift) - 1u);
  const uint32_t halfway = 1u << (shift - 1);
  if (rest > halfway || (rest == halfway && (h & 1u))) ++h;
  return static_cast<uint16_t>(sign | h);
}

uint16_t FloatToBf16Bits(float x) {
  const uint32_t f = std::bit_cast<uint32_t>(x);
  if ((f & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((f >> 16) | 0x40u);  // NaN
  const uint32_t rounded = f + 0x7FFFu + ((f >> 16) & 1u);  // ties to even; overflow -> Inf
  return static_cast<uint16_t>(rounded >> 16);
}

float HalfBitsToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1Fu;
  const uint32_t mant = h & 0x3FFu;
  if (exp == 0x1F) return std::bit_cast<float>(sign | 0x7F800000u | (mant << 13));
  if (exp != 0) return std::bit_cast<float>(sign | ((exp + 112u) << 23) | (mant << 13));
  const float mag = std::ldexp(static_cast<float>(mant), -24);  // exact: mant < 2^10
  return sign ? -mag : mag;
}

float Bf16BitsToFloat(uint16_t b) { return std::bit_cast<float>(static_cast<uint32_t>(b) << 16); }

float RoundTrip(KvDtype t, float x) {
  switch (t) {
    case KvDtype::kF32: return x;
    case KvDtype::kF16: return HalfBitsToFloat(FloatToHalfBits(x));
    case KvDtype::kBf16: return Bf16BitsToFloat(FloatToBf16Bits(x));
  }
  return x;
}

}  // namespace hsr::gpu
