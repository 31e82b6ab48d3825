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

// The address of every cache line [p, p + bytes) touches, first to last: walked as integers, so
// no pointer steps past the end of the range.
template <class FlushLine>
void ForEachLine(const std::byte* p, size_t bytes, FlushLine flush) {
  const uintptr_t end = reinterpret_cast<uintptr_t>(p) + bytes;
  for (uintptr_t a = reinterpret_cast<uintptr_t>(p) & ~uintptr_t{kLine - 1}; a < end; a += kLine) {
    flush(reinterpret_cast<void*>(a));
  }
}

__attribute__((target("clflushopt"))) void FlushOpt(const std::byte* p, size_t bytes) {
  ForEachLine(p, bytes, [](void* line) __attribute__((target("clflushopt"))) {
    _mm_clflushopt(line);
  });
}

void Flush(const std::byte* p, size_t bytes) {
  ForEachLine(p, bytes, [](void* line) { hwy::FlushCacheline(line); });
}

bool UseClflushopt() {
  static const bool opt = HasClflushopt();
  return opt;
}
#endif

}  // namespace

const char* EvictInstruction() {
#if HSR_X86
  return UseClflushopt() ? "clflushopt" : "clflush";
#else
  return "none";
#endif
}

void EvictFromCaches(std::span<const std::span<const std::byte>> ranges) {
#if HSR_X86
  const bool opt = UseClflushopt();
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
