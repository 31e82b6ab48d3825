// Storage types of K/V on the GPU: float32, IEEE float16 or bfloat16; every kernel converts to
// float32 on load and accumulates in float32. Host-side conversion (float32 -> 16 bits, round to
// nearest even; 16 bits -> float32, exact) so that tests can build the exact float32 values the
// device sees and check them against the float64 oracle. Plain C++, no CUDA types.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace hsr::gpu {

enum class KvDtype { kF32, kF16, kBf16 };

std::string_view ToString(KvDtype t);  // "f32", "f16", "bf16"
// Parses "f32" | "f16" | "bf16"; throws hsr::Error otherwise.
KvDtype ParseKvDtype(std::string_view name);
size_t BytesPerElement(KvDtype t);

// Largest finite magnitude the storage type holds (after rounding to nearest even a float32
// above it would become Inf): 65504 for f16, the largest bf16 for bf16, FLT_MAX for f32.
float MaxFinite(KvDtype t);

// Round to nearest, ties to even. Finite inputs above MaxFinite become +-Inf; NaN stays NaN.
uint16_t FloatToHalfBits(float x);
uint16_t FloatToBf16Bits(float x);
// Exact (subnormals included).
float HalfBitsToFloat(uint16_t h);
float Bf16BitsToFloat(uint16_t b);

// x rounded through the storage type and back (identity for f32).
float RoundTrip(KvDtype t, float x);

}  // namespace hsr::gpu
