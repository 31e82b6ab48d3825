#include "sim/machine/cache_evict.h"

#include <hwy/cache_control.h>

#include <cstdint>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#define HSR_X86 1
#else
#define HSR_X86 0
#endif

namespace hsr::sim {
namespace {

constexpr size_t kLine = 64;

#if HSR_X86
bool HasClflushopt() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  return (b >> 23) & 1u;
}

__attribute__((target("clflushopt"))) void FlushOpt(const std::byte* p, size_t bytes) {
  const auto* end = p + bytes;
  for (const std::byte* q = p; q < end; q += kLine) _mm_clflushopt(const_cast<std::byte*>(q));
  _mm_clflushopt(const_cast<std::byte*>(end - 1));  // the last line when p is not line-aligned
}

void Flush(const std::byte* p, size_t bytes) {
  const auto* end = p + bytes;
  for (const std::byte* q = p; q < end; q += kLine) hwy::FlushCacheline(q);
  hwy::FlushCacheline(end - 1);
}
#endif

}  // namespace

const char* EvictInstruction() {
#if HSR_X86
  static const bool opt = HasClflushopt();
  return opt ? "clflushopt" : "clflush";
#else
  return "none";
#endif
}

void EvictFromCaches(std::span<const std::span<const std::byte>> ranges) {
#if HSR_X86
  static const bool opt = HasClflushopt();
  for (const auto& r : ranges) {
    if (r.empty()) continue;
    if (opt) {
      FlushOpt(r.data(), r.size());
    } else {
      Flush(r.data(), r.size());
    }
  }
  // CLFLUSHOPT is ordered by SFENCE; CLFLUSH by MFENCE (both fence the other kind too).
  if (opt) {
    _mm_sfence();
  } else {
    _mm_mfence();
  }
#else
  (void)ranges;
#endif
}

}  // namespace hsr::sim
