// Blocked 8-bit key codes and the integer query they are scored against: the layout of sketch8's
// certified filter (sketch8.cc proves the bound built on it), shaped for each target's integer
// dot instructions (per-target kernels: key_code-inl.h): AVX-512 VNNI `vpdpbusd` and the u8 x s8
// `vpmaddubsw` of AVX-512BW / AVX2 / SSSE3 take unsigned bytes on one side and signed bytes on the
// other, and this layout makes them produce one int32 sum per key with no horizontal reduction.
// Reference: a plain int64 loop over CodeBlocks::Code; test: key_code_test.cc (every target).
//
// Codes. Key j's signed codes k8_jc in [-127, 127] (c < d) are stored as u8 u_jc = k8_jc + 128 in
// blocks of kCodeBlockKeys = 16 keys. Block b (keys 16 b .. 16 b + 15) is G = ceil(d / 4) lines of
// 64 bytes starting at byte 64 G b; line g holds dims 4 g .. 4 g + 3 of the block's 16 keys, key k
// of the block in bytes 4 k .. 4 k + 3 (dim 4 g + i in byte 4 k + i). Dims d .. 4 G - 1 and the
// unused keys of the last block hold k8 = 0 (u8 128). 4 G bytes per key, the buffer 64-byte
// aligned (huge pages when large); appending a key is O(d) amortised (blocks grow by doubling).
//
// Query. An integer query q_c with |q_c| <= kQueryCodeMax = 8191 (13 bits) is split per dim into
// two signed bytes q = 128 hi + lo, lo = ((q + 64) mod 128) - 64 in [-64, 63] and hi = (q - lo) /
// 128 in [-64, 64] (|q| <= 8191 < 64 * 128 + 64), packed four per 32-bit word in a code line's dim
// order (word g: dims 4 g .. 4 g + 3, dim 4 g + i in byte i), zero in the padding dims.
//
// Integer dot. Every kernel returns, for every key j of the blocks it is given,
//   I_j = <q, k8_j> + extra   computed modulo 2^32 and read as int32,
// which is the exact integer whenever |<q, k8_j> + extra| < 2^31 (the caller's limit: sketch8
// chooses its Qmax so). As <q, k8_j> = <q, u_j> - 128 sum_c q_c, the kernels compute
// J_j = <q, u_j> = 128 <hi, u_j> + <lo, u_j> (u8 x s8 instructions) or <q, u_j> directly
// (portable) and subtract offset = 128 sum_c q_c - extra, all modulo 2^32: exact in the ring
// Z / 2^32 Z, whatever the intermediate magnitudes. Nothing saturates or drops a bit before the
// modular additions:
//   - vpdpbusd (the non-saturating form): each int32 lane adds the four products u s
//     (|u s| <= 255 * 64) exactly to its accumulator, with wraparound;
//   - vpmaddubsw: each int16 lane is u0 s0 + u1 s1 with SIGNED SATURATION, and
//     |u0 s0 + u1 s1| <= 2 * 255 * 64 = 32640 < 32767, so it never saturates (hence parts of at
//     most 64 in magnitude); vpmaddwd against ones adds two such int16 exactly into an int32;
//     vpaddd wraps;
//   - portable: uint32 products u * q and sums (wraparound by definition).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>
#include <vector>

namespace hsr::index_detail {

inline constexpr size_t kCodeBlockKeys = 16;
inline constexpr size_t kCodeGroupDims = 4;
inline constexpr size_t kCodeLineBytes = kCodeBlockKeys * kCodeGroupDims;  // 64
inline constexpr int32_t kQueryCodeMax = 8191;

// G = ceil(d / 4): code lines per block, 4-byte words per query part.
inline size_t CodeGroups(size_t d) { return (d + kCodeGroupDims - 1) / kCodeGroupDims; }

// What the kernels read: n keys in ceil(n / 16) blocks of `groups` 64-byte lines.
struct CodeBlocks {
  const uint8_t* data = nullptr;  // 64-byte aligned
  size_t groups = 0;
  size_t n = 0;
  size_t BlockBytes() const { return groups * kCodeLineBytes; }
  const uint8_t* Block(size_t b) const { return data + b * BlockBytes(); }
  // k8_jc (j < n; 0 for padding dims c in [d, 4 groups)).
  int Code(size_t j, size_t c) const {
    return int{Block(j / kCodeBlockKeys)[(c / kCodeGroupDims) * kCodeLineBytes +
                                          (j % kCodeBlockKeys) * kCodeGroupDims +
                                          c % kCodeGroupDims]} - 128;
  }
};

class KeyCodes {
 public:
  // Empties the codes and sets the width d >= 1; reserves room for `reserve_keys` keys.
  void Reset(size_t d, size_t reserve_keys);
  // Appends one key's d signed codes, each in [-127, 127]; O(d) amortised.
  void Append(const int8_t* k8);

  size_t n() const { return n_; }
  size_t d() const { return d_; }
  size_t groups() const { return groups_; }
  size_t Bytes() const { return cap_blocks_ * groups_ * kCodeLineBytes; }  // allocated
  CodeBlocks View() const { return {buf_.get(), groups_, n_}; }
  // The blocks in use (what a filter pass reads), for cache eviction between bench samples.
  std::span<const std::byte> Buffer() const {
    const size_t blocks = (n_ + kCodeBlockKeys - 1) / kCodeBlockKeys;
    return {reinterpret_cast<const std::byte*>(buf_.get()), blocks * groups_ * kCodeLineBytes};
  }
  // The codes as n rows of `stride` >= d signed bytes (row-major; columns d .. stride - 1 zero).
  void CopyRows(size_t stride, int8_t* out) const;

 private:
  struct Free {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  void Grow(size_t blocks);

  std::unique_ptr<uint8_t, Free> buf_;
  size_t cap_blocks_ = 0, n_ = 0, d_ = 0, groups_ = 0;
};

// The split query of a kernel call (see the file comment).
struct QueryWords {
  std::vector<int16_t> q;        // 4 G entries: q_c for c < d, zero beyond
  std::vector<uint32_t> hi, lo;  // G words of four signed bytes each
  std::vector<int16_t> line;     // 64 G entries, q as a code line: line[64 g + 4 k + i] = q_{4g+i}
  int32_t extra = 0;             // added to every <q, k8_j>
  uint32_t offset = 0;           // 128 sum_c q_c - extra, modulo 2^32
};
// Splits q (d entries, |q_c| <= kQueryCodeMax; throws hsr::Error otherwise) for G >= ceil(d / 4)
// groups. with_line = false leaves out->line empty (only the portable kernel reads it:
// CodeDotsKernel() == "portable").
void EncodeQuery(std::span<const int16_t> q, size_t groups, int32_t extra, QueryWords* out,
                 bool with_line = true);

}  // namespace hsr::index_detail
