// Transparent huge pages for large streamed buffers (K/V tensors, index key copies and codes, the
// read-bandwidth probe).
//
// With THP in "madvise" mode (Debian's default, and this VM's) only regions marked with
// madvise(MADV_HUGEPAGE) get 2 MiB pages. Streaming reads then cross 512x fewer page boundaries
// (the hardware prefetchers stop at 4 KiB pages). On the 2-core dev VM, 2 threads: a plain
// streaming sum over 1 GiB 20-23 -> 26-28 GB/s, the read probe (sim/machine/bandwidth.h) 21-27 -> 32,
// dense-hwy softmax decode n = 2^20 d = 128 55-59 -> 46-57 ms, hsr-cpu ReLU decode 8.6-9.6 ->
// 8.0-9.0 ms. Mark a buffer before it is first written. The probe and the kernels get the same
// pages, so rooflines stay comparable (the probe gains most: roofline fractions went down).
#pragma once

#include <cstddef>

namespace hsr {

// Buffers below this size are left alone.
inline constexpr size_t kHugePageMinBytes = size_t{4} << 20;
inline constexpr size_t kHugePageBytes = size_t{2} << 20;

// Asks for huge pages on the 4 KiB-aligned interior of [p, p + bytes); a no-op below
// kHugePageMinBytes, off Linux, or where the kernel refuses (the advice is only a hint).
void AdviseHugePages(const void* p, size_t bytes);

// Uninitialised memory for a streamed buffer of `bytes` > 0: 64-byte aligned; from
// kHugePageMinBytes on, huge-page aligned and advised (AdviseHugePages) before the first write.
// Free with std::free. Throws std::bad_alloc when the allocation fails.
void* AllocateStreamed(size_t bytes);

}  // namespace hsr
