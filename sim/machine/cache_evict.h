// Evicting memory from every CPU cache level, so that the next read of it comes from DRAM: how
// `hsr bench` makes a sample cold (sim/bench/bench.h) without copies of the data.
//
// Method (x86): CLFLUSHOPT on every 64-byte line of each range (CPUID.(EAX=7):EBX[23]; CLFLUSH,
// hwy::FlushCacheline, where it is missing), then SFENCE/MFENCE so the flushes are done before
// the next timed read. Both invalidate the line in every cache of the coherence domain, writing
// it back when dirty. A stride of 64 bytes covers every line size of x86-64 (64 or 128 bytes).
// Cost measured on a Zen 4 VM: ~0.7 ns per line (~11 ms per GiB), cached or not.
// Other architectures: nothing is evicted; EvictInstruction() says "none".
#pragma once

#include <cstddef>
#include <span>

namespace hsr::sim {

// "clflushopt", "clflush" or "none": what EvictFromCaches uses on this CPU.
const char* EvictInstruction();

// Evicts every byte of every range from the CPU caches (see above); empty ranges are skipped.
void EvictFromCaches(std::span<const std::span<const std::byte>> ranges);

}  // namespace hsr::sim
