#include "core/index/key_code.h"

#include <algorithm>
#include <cstring>

#include "core/base/error.h"
#include "core/base/huge_pages.h"

namespace hsr::index_detail {

void KeyCodes::Reset(size_t d, size_t reserve_keys) {
  HSR_CHECK(d >= 1, "KeyCodes: expected d >= 1, got d={}", d);
  buf_.reset();
  cap_blocks_ = n_ = 0;
  d_ = d;
  groups_ = CodeGroups(d);
  Grow((reserve_keys + kCodeBlockKeys - 1) / kCodeBlockKeys);
}

void KeyCodes::Grow(size_t blocks) {
  if (blocks <= cap_blocks_) return;
  const size_t block_bytes = groups_ * kCodeLineBytes;
  auto* p = static_cast<uint8_t*>(AllocateStreamed(blocks * block_bytes));
  const size_t used = (n_ + kCodeBlockKeys - 1) / kCodeBlockKeys;
  if (used > 0) std::memcpy(p, buf_.get(), used * block_bytes);
  buf_.reset(p);
  cap_blocks_ = blocks;
}

void KeyCodes::Append(const int8_t* k8) {
  const size_t b = n_ / kCodeBlockKeys, k = n_ % kCodeBlockKeys;
  const size_t block_bytes = groups_ * kCodeLineBytes;
  if (k == 0) {
    if (b == cap_blocks_) Grow(std::max<size_t>(4, 2 * cap_blocks_));
    std::memset(buf_.get() + b * block_bytes, 128, block_bytes);  // k8 = 0 everywhere
  }
  uint8_t* line = buf_.get() + b * block_bytes + k * kCodeGroupDims;
  for (size_t c = 0; c < d_; ++c) {
    line[(c / kCodeGroupDims) * kCodeLineBytes + c % kCodeGroupDims] =
        static_cast<uint8_t>(int{k8[c]} + 128);
  }
  ++n_;
}

void KeyCodes::CopyRows(size_t stride, int8_t* out) const {
  HSR_CHECK(stride >= d_, "KeyCodes CopyRows: expected stride >= d={}, got {}", d_, stride);
  const CodeBlocks view = View();
  for (size_t j = 0; j < n_; ++j) {
    int8_t* row = out + j * stride;
    for (size_t c = 0; c < d_; ++c) row[c] = static_cast<int8_t>(view.Code(j, c));
    std::fill(row + d_, row + stride, int8_t{0});
  }
}

void EncodeQuery(std::span<const int16_t> q, size_t groups, int32_t extra, QueryWords* out) {
  HSR_CHECK(q.size() <= groups * kCodeGroupDims,
            "EncodeQuery: expected at most {} dims for {} groups, got {}",
            groups * kCodeGroupDims, groups, q.size());
  out->q.assign(groups * kCodeGroupDims, 0);
  out->hi.assign(groups, 0);
  out->lo.assign(groups, 0);
  uint32_t sum = 0;  // sum_c q_c modulo 2^32
  for (size_t c = 0; c < q.size(); ++c) {
    const int v = q[c];
    HSR_CHECK(v >= -kQueryCodeMax && v <= kQueryCodeMax,
              "EncodeQuery: expected |q| <= {}, got {} at dim {}", kQueryCodeMax, v, c);
    const int lo = (v + 64 + 128 * 64) % 128 - 64;  // (v + 64) mod 128 - 64, v + 64 + 8192 > 0
    const int hi = (v - lo) / 128;                   // exact: v - lo is a multiple of 128
    out->q[c] = static_cast<int16_t>(v);
    const unsigned shift = 8 * static_cast<unsigned>(c % kCodeGroupDims);
    out->hi[c / kCodeGroupDims] |= uint32_t{static_cast<uint8_t>(static_cast<int8_t>(hi))} << shift;
    out->lo[c / kCodeGroupDims] |= uint32_t{static_cast<uint8_t>(static_cast<int8_t>(lo))} << shift;
    sum += static_cast<uint32_t>(v);
  }
  out->line.resize(groups * kCodeLineBytes);
  // line[64 g + 4 k + i] = q[4 g + i]: the group's four entries copied into each of its slots
  // (entry by entry with a modulo, this loop took most of a d = 128 query's encoding, ~1.2 us).
  for (size_t g = 0; g < groups; ++g) {
    const int16_t* src = out->q.data() + g * kCodeGroupDims;
    int16_t* dst = out->line.data() + g * kCodeLineBytes;
    for (size_t m = 0; m < kCodeLineBytes; m += kCodeGroupDims) {
      std::memcpy(dst + m, src, kCodeGroupDims * sizeof(int16_t));
    }
  }
  out->extra = extra;
  out->offset = 128u * sum - static_cast<uint32_t>(extra);
}

}  // namespace hsr::index_detail
