// Per-target integer dots of blocked key codes (key_code.h: layout, query split, and why each
// instruction's sums are exact). Include inside a Highway dispatch unit after hwy/highway.h.
//   AVX3_DL         vpdpbusd (AVX-512 VNNI): two per 64-byte line (hi and lo query parts)
//   AVX3, AVX2,     vpmaddubsw + vpmaddwd (ones) + vpaddd on 64-, 32- or 16-byte vectors
//   SSE4, SSSE3
//   other targets   portable uint32 loop (EMU128, SCALAR, non-x86)
// Each block's lines are read in order, one block after the other: one sequential stream per
// thread, which the hardware prefetchers follow (four blocks interleaved, i.e. four strided
// streams, read ~10 GB/s from DRAM vs ~24 GB/s sequential on one Zen 4 core in a standalone
// prototype). Software prefetch: on AVX3_DL (Zen 4) 8 or 32 lines ahead measured slower from DRAM
// (sketch8 filter n = 2^20, d = 128, 1 thread: 4.5-4.9 ms without, 5.4-6.3 ms with; 3 alternating
// runs), so that kernel has none; the vpmaddubsw kernel on AVX2 prefetches each line
// kCodePrefetchBytes ahead when its caller streams the codes (CodeRead::kStream; measured on
// Zen 3: the note at the constant).
// Used by sketch8.cc; test: key_code_test.cc (every compiled target vs an int64 loop).

#if defined(HSR_CORE_INDEX_KEY_CODE_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef HSR_CORE_INDEX_KEY_CODE_INL_H_
#undef HSR_CORE_INDEX_KEY_CODE_INL_H_
#else
#define HSR_CORE_INDEX_KEY_CODE_INL_H_
#endif

#include <stddef.h>
#include <stdint.h>

#include "core/index/key_code.h"
#include "hwy/cache_control.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace hsr {
namespace HWY_NAMESPACE {
// How a CodeDots call reads its blocks: once, as a stream from DRAM (a decode filter pass, or the
// first row on each tile of a few-row batch; the AVX2 kernel prefetches ahead), or again and
// again while they stay in cache (the batch screen's tile, one call per query row; a prefetch
// ahead would only pull the following tiles into L1).
enum class CodeRead { kStream, kResident };

namespace code_detail {
namespace hn = hwy::HWY_NAMESPACE;
using index_detail::kCodeBlockKeys;
using index_detail::kCodeLineBytes;

#if HWY_TARGET == HWY_AVX3_DL
// acc += vpdpbusd(x, the 32-bit word at *word broadcast to every lane). Inline assembly because
// g++ 12 compiles _mm512_dpbusd_epi32 in this loop with a copy of every accumulator and a second
// load of every line per instruction (its tied accumulator operand defeats register allocation):
// 3.3 vs 2.3 ns per key in cache (n = 4096, d = 128, 1 thread, standalone). The memory operand
// is the broadcast itself ({1to16}), as in the intrinsic form with _mm512_set1_epi32.
#define HSR_DPBUSD_BCAST(acc, x, word) \
  asm("vpdpbusd %2%{1to16%}, %1, %0" : "+v"(acc) : "v"(x), "m"(word))

// Highway 1.0.3's AVX3_DL attribute string names avxvnni (the VEX form), not avx512vnni, so the
// 512-bit vpdpbusd needs its own attribute (added to the target's).
__attribute__((target("avx512vnni"))) static void DotsVnni(
    const uint8_t* HWY_RESTRICT blocks, size_t groups, size_t count,
    const index_detail::QueryWords& q, int32_t* HWY_RESTRICT out) {
  const uint32_t* HWY_RESTRICT hi = q.hi.data();
  const uint32_t* HWY_RESTRICT lo = q.lo.data();
  const __m512i offset = _mm512_set1_epi32(static_cast<int32_t>(q.offset));
  for (size_t b = 0; b < count; ++b) {
    const uint8_t* line = blocks + b * groups * kCodeLineBytes;
    // Two groups per step into separate accumulators (hi / lo x even / odd): four independent
    // dependency chains per block.
    __m512i h0 = _mm512_setzero_si512(), l0 = h0, h1 = h0, l1 = h0;
    size_t g = 0;
    for (; g + 2 <= groups; g += 2) {
      const __m512i x0 = _mm512_load_si512(line + g * kCodeLineBytes);
      const __m512i x1 = _mm512_load_si512(line + (g + 1) * kCodeLineBytes);
      HSR_DPBUSD_BCAST(h0, x0, hi[g]);
      HSR_DPBUSD_BCAST(l0, x0, lo[g]);
      HSR_DPBUSD_BCAST(h1, x1, hi[g + 1]);
      HSR_DPBUSD_BCAST(l1, x1, lo[g + 1]);
    }
    if (g < groups) {
      const __m512i x0 = _mm512_load_si512(line + g * kCodeLineBytes);
      HSR_DPBUSD_BCAST(h0, x0, hi[g]);
      HSR_DPBUSD_BCAST(l0, x0, lo[g]);
    }
    // 128 J_hi + J_lo - offset, modulo 2^32 (vpslld / vpaddd / vpsubd wrap).
    const __m512i j = _mm512_add_epi32(_mm512_slli_epi32(_mm512_add_epi32(h0, h1), 7),
                                       _mm512_add_epi32(l0, l1));
    _mm512_storeu_si512(out + b * kCodeBlockKeys, _mm512_sub_epi32(j, offset));
  }
}
#undef HSR_DPBUSD_BCAST
#endif  // HWY_TARGET == HWY_AVX3_DL

#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL || HWY_TARGET == HWY_AVX2 || \
    HWY_TARGET == HWY_SSE4 || HWY_TARGET == HWY_SSSE3
#define HSR_KEY_CODE_MADDUBS 1
// vpmaddubsw on Highway vectors: int16 lane i = u[2i] s[2i] + u[2i+1] s[2i+1], saturated.
template <class D8, class V8 = hn::Vec<D8>>
HWY_INLINE hn::Vec<hn::Repartition<int16_t, D8>> MulAddUbs(D8 /*tag*/, V8 u, V8 s) {
  using V16 = hn::Vec<hn::Repartition<int16_t, D8>>;
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  return V16{_mm512_maddubs_epi16(u.raw, s.raw)};
#elif HWY_TARGET == HWY_AVX2
  return V16{_mm256_maddubs_epi16(u.raw, s.raw)};
#else
  return V16{_mm_maddubs_epi16(u.raw, s.raw)};
#endif
}

#if HWY_TARGET == HWY_AVX2
// How far ahead of the line it reads the AVX2 kernel prefetches (one prefetch per 64-byte line).
// Zen 3 (AMD EPYC 2-core VM, AVX2 target), sketch8 decode n = 2^20, d = 128, ReLU^2 at `paper`,
// cold, hsr-cpu alone, --repeats 40, 3 alternating rounds, medians in ms: 2 threads 7.16 / 7.23 /
// 7.02 at 0 (the line being read), 7.13 / 6.51 / 7.05 at 8 KiB, 7.10 / 6.71 / 6.86 at 16 KiB,
// 6.55 / 6.79 / 6.50 at 32 KiB; 1 thread 11.3 / 12.3 at 0, 10.4 / 10.4 at 32 KiB.
constexpr size_t kCodePrefetchBytes = 32768;
#endif
HWY_INLINE void DotsMaddubs(const uint8_t* HWY_RESTRICT blocks, size_t groups, size_t count,
                            const index_detail::QueryWords& q, CodeRead read,
                            int32_t* HWY_RESTRICT out) {
  const hn::ScalableTag<uint8_t> du8;
  const hn::Repartition<int16_t, decltype(du8)> d16;
  const hn::Repartition<int32_t, decltype(du8)> d32;
  const hn::Repartition<uint32_t, decltype(du8)> du32;
  constexpr size_t kVectors = kCodeLineBytes / HWY_MAX_BYTES;  // per line: 1, 2 or 4
  constexpr size_t kKeys = HWY_MAX_BYTES / 4;                   // keys per vector
  static_assert(kVectors * HWY_MAX_BYTES == kCodeLineBytes, "a line is whole vectors");
  const auto ones = hn::Set(d16, 1);
  const auto offset = hn::Set(du32, q.offset);
  const uint32_t* HWY_RESTRICT hi = q.hi.data();
  const uint32_t* HWY_RESTRICT lo = q.lo.data();
  for (size_t b = 0; b < count; ++b) {
    const uint8_t* line = blocks + b * groups * kCodeLineBytes;
    hn::Vec<decltype(d32)> ah[kVectors], al[kVectors], unused;
    for (size_t v = 0; v < kVectors; ++v) ah[v] = al[v] = hn::Zero(d32);
    for (size_t g = 0; g < groups; ++g) {
      const auto qh = hn::BitCast(du8, hn::Set(du32, hi[g]));
      const auto ql = hn::BitCast(du8, hn::Set(du32, lo[g]));
#if HWY_TARGET == HWY_AVX2
      // The address may lie past the buffer: formed from an integer (no out-of-bounds pointer
      // arithmetic); a prefetch is a hint and never faults.
      if (read == CodeRead::kStream) {
        hwy::Prefetch(reinterpret_cast<const uint8_t*>(reinterpret_cast<uintptr_t>(line) +
                                                       g * kCodeLineBytes + kCodePrefetchBytes));
      }
#else
      (void)read;
#endif
      for (size_t v = 0; v < kVectors; ++v) {
        const auto x = hn::Load(du8, line + g * kCodeLineBytes + v * HWY_MAX_BYTES);
        // vpmaddwd(pairs, ones) + accumulator: the int32 sum of 4 products per key.
        ah[v] = hn::ReorderWidenMulAccumulate(d32, MulAddUbs(du8, x, qh), ones, ah[v], unused);
        al[v] = hn::ReorderWidenMulAccumulate(d32, MulAddUbs(du8, x, ql), ones, al[v], unused);
      }
    }
    for (size_t v = 0; v < kVectors; ++v) {
      const auto j = hn::Add(hn::ShiftLeft<7>(hn::BitCast(du32, ah[v])), hn::BitCast(du32, al[v]));
      hn::StoreU(hn::BitCast(d32, hn::Sub(j, offset)), d32, out + b * kCodeBlockKeys + v * kKeys);
    }
  }
}
#endif

// Portable: J_j = <q, u_j> in uint32 (wraps), minus the offset. One accumulator per byte of a
// line against q laid out as a line (QueryWords::line), so the compiler vectorises it with the
// target's plain integer multiplies (SSE2 on SCALAR: ~10 ns per key at d = 128, vs ~80 with the
// per-key loop); the four accumulators of a key are summed once per block.
HWY_INLINE void DotsPortable(const uint8_t* HWY_RESTRICT blocks, size_t groups, size_t count,
                             const index_detail::QueryWords& q, int32_t* HWY_RESTRICT out) {
  for (size_t b = 0; b < count; ++b) {
    const uint8_t* HWY_RESTRICT line = blocks + b * groups * kCodeLineBytes;
    const int16_t* HWY_RESTRICT ql = q.line.data();
    uint32_t acc[kCodeLineBytes] = {};
    for (size_t g = 0; g < groups; ++g, line += kCodeLineBytes, ql += kCodeLineBytes) {
      for (size_t m = 0; m < kCodeLineBytes; ++m) {
        acc[m] += uint32_t{line[m]} * static_cast<uint32_t>(ql[m]);
      }
    }
    for (size_t k = 0; k < kCodeBlockKeys; ++k) {
      const uint32_t j = acc[4 * k] + acc[4 * k + 1] + acc[4 * k + 2] + acc[4 * k + 3];
      out[b * kCodeBlockKeys + k] = static_cast<int32_t>(j - q.offset);
    }
  }
}

}  // namespace code_detail

// out[16 i + k] = I of key 16 (first_block + i) + k (key_code.h), for i < count blocks; keys of
// the last block past codes.n get <q, 0> + extra = extra. `read` changes only how far ahead the
// blocks are fetched, never the result.
HWY_INLINE void CodeDots(const index_detail::CodeBlocks& codes, size_t first_block, size_t count,
                         const index_detail::QueryWords& q, CodeRead read,
                         int32_t* HWY_RESTRICT out) {
  const uint8_t* blocks = codes.Block(first_block);
#if HWY_TARGET == HWY_AVX3_DL
  (void)read;
  code_detail::DotsVnni(blocks, codes.groups, count, q, out);
#elif defined(HSR_KEY_CODE_MADDUBS)
  code_detail::DotsMaddubs(blocks, codes.groups, count, q, read, out);
#else
  (void)read;
  code_detail::DotsPortable(blocks, codes.groups, count, q, out);
#endif
}

// The kernel CodeDots runs on this target (tests print and check it).
HWY_INLINE const char* CodeDotsKernel() {
#if HWY_TARGET == HWY_AVX3_DL
  return "vpdpbusd";
#elif defined(HSR_KEY_CODE_MADDUBS)
  return "vpmaddubsw";
#else
  return "portable";
#endif
}

// Whether CodeDots reads QueryWords::line on this target (only the portable loop does; the
// others take q's words): EncodeQuery's with_line.
HWY_INLINE bool CodeDotsReadsLine() {
#if HWY_TARGET == HWY_AVX3_DL || defined(HSR_KEY_CODE_MADDUBS)
  return false;
#else
  return true;
#endif
}

// The portable loop on any target (the reference the tests compare every kernel with).
HWY_INLINE void CodeDotsPortable(const index_detail::CodeBlocks& codes, size_t first_block,
                                 size_t count, const index_detail::QueryWords& q,
                                 int32_t* HWY_RESTRICT out) {
  code_detail::DotsPortable(codes.Block(first_block), codes.groups, count, q, out);
}

#undef HSR_KEY_CODE_MADDUBS

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace hsr
HWY_AFTER_NAMESPACE();

#endif  // HSR_CORE_INDEX_KEY_CODE_INL_H_
