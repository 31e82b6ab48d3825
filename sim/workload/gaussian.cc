// Counter-based N(0, 1) generator as a Highway dispatch unit (hwy/examples/skeleton.cc
// pattern): element values depend only on (key, element index), never on the thread split or
// the vector width, so any slice can be generated independently and in parallel.
//
// Layout: blocks of 32 elements; block b holds Box-Muller pairs 16b..16b+15, the 16 cosine
// values first, then the 16 sine values. Pair p's two uniforms come from a 32-bit murmur3
// finaliser chain over (p, key); the top 24 bits give u1 in (0, 1] and u2 in [0, 1).
// Different SIMD targets (FMA or not) may differ in the last bits of Log/Sin/Cos.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "sim/workload/gaussian.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "hwy/contrib/math/math-inl.h"

HWY_BEFORE_NAMESPACE();
namespace hsr {
namespace sim {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

template <class DU, class VU>
HWY_INLINE VU Fmix32(DU du, VU h) {
  h = hn::Xor(h, hn::ShiftRight<16>(h));
  h = hn::Mul(h, hn::Set(du, 0x85EBCA6Bu));
  h = hn::Xor(h, hn::ShiftRight<13>(h));
  h = hn::Mul(h, hn::Set(du, 0xC2B2AE35u));
  return hn::Xor(h, hn::ShiftRight<16>(h));
}

// Fills blocks [block_begin, block_begin + blocks) of 32 floats each into out (which points at
// element 32 * block_begin). key_lo/key_hi select the stream; pair index < 2^32 * ... is folded
// into the key by the caller (pair_hi).
void GaussianBlocks(uint32_t key_a, uint32_t key_b, uint64_t block_begin, size_t blocks,
                    float* HWY_RESTRICT out) {
  const hn::CappedTag<float, 16> df;
  const hn::RebindToUnsigned<decltype(df)> du;
  const hn::RebindToSigned<decltype(df)> di;
  const size_t N = hn::Lanes(df);
  const auto two_pi = hn::Set(df, 6.28318530717958647692f);
  const auto pi = hn::Set(df, 3.14159265358979323846f);
  const auto inv24 = hn::Set(df, 0x1p-24f);
  const auto one = hn::Set(df, 1.0f);
  const auto minus2 = hn::Set(df, -2.0f);
  const auto lane = hn::Iota(du, 0);
  for (size_t b = 0; b < blocks; ++b) {
    const uint64_t pair0 = (block_begin + b) * 16;
    const uint32_t hi = static_cast<uint32_t>(pair0 >> 32);
    const auto ka = hn::Set(du, key_a ^ (hi * 0x9E3779B9u));
    const auto kb = hn::Set(du, key_b);
    float* o = out + b * 32;
    for (size_t j = 0; j < 16; j += N) {
      const auto c = hn::Add(hn::Set(du, static_cast<uint32_t>(pair0) + static_cast<uint32_t>(j)),
                             lane);
      const auto h1 = Fmix32(du, hn::Add(c, ka));
      const auto h2 = Fmix32(du, hn::Xor(h1, kb));
      const auto u1 = hn::Mul(hn::Add(hn::ConvertTo(df, hn::BitCast(di, hn::ShiftRight<8>(h1))), one),
                              inv24);  // (0, 1]
      const auto u2 = hn::Mul(hn::ConvertTo(df, hn::BitCast(di, hn::ShiftRight<8>(h2))), inv24);
      const auto r = hn::Sqrt(hn::Mul(minus2, hn::Log(df, u1)));
      const auto t = hn::Sub(hn::Mul(two_pi, u2), pi);  // [-pi, pi)
      hn::StoreU(hn::Mul(r, hn::Cos(df, t)), df, o + j);
      hn::StoreU(hn::Mul(r, hn::Sin(df, t)), df, o + 16 + j);
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace sim
}  // namespace hsr
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <algorithm>
#include <cstring>

#include "core/base/thread_pool.h"
#include "sim/workload/workload.h"

namespace hsr {
namespace sim {
namespace {

uint64_t SplitMix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace

HWY_EXPORT(GaussianBlocks);

void FillGaussian(uint64_t seed, uint64_t stream, std::span<float> out, size_t threads) {
  const uint64_t key = SplitMix64(SplitMix64(seed) ^ SplitMix64(0xA5A5A5A5ull + stream));
  const uint32_t key_a = static_cast<uint32_t>(key), key_b = static_cast<uint32_t>(key >> 32);
  const size_t full_blocks = out.size() / 32;
  constexpr size_t kBlocksPerTask = 4096;  // 128 Ki floats
  const size_t tasks = (full_blocks + kBlocksPerTask - 1) / kBlocksPerTask;
  auto fill = [&](size_t task, size_t) {
    const size_t begin = task * kBlocksPerTask;
    const size_t count = std::min(full_blocks - begin, kBlocksPerTask);
    HWY_DYNAMIC_DISPATCH(GaussianBlocks)(key_a, key_b, begin, count, out.data() + begin * 32);
  };
  if (tasks == 1) {
    fill(0, 0);
  } else if (tasks > 1) {
    ThreadPool pool(threads);
    pool.Run(tasks, fill);
  }
  const size_t tail = out.size() - full_blocks * 32;
  if (tail != 0) {
    float block[32];
    HWY_DYNAMIC_DISPATCH(GaussianBlocks)(key_a, key_b, full_blocks, 1, block);
    std::memcpy(out.data() + full_blocks * 32, block, tail * sizeof(float));
  }
}

}  // namespace sim
}  // namespace hsr
#endif  // HWY_ONCE
