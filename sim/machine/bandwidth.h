// DRAM read roofline measured in the same run as the benchmark it normalises.
//
// A Highway streaming-read reduction (dynamic dispatch, sim/machine/bandwidth.cc) over a buffer
// much larger than the last-level cache, split across a ThreadPool of the benchmark's thread count.
// The buffer is allocated and first-touched (by the same partition of threads) outside the
// timed passes; the result is the median over passes.
#pragma once

#include <cstddef>
#include <span>
#include <string>

#include "core/base/cache_info.h"

namespace hsr::sim {

struct ReadBandwidth {
  double gbs = 0;       // median over passes, 1e9 bytes per second
  double p10_gbs = 0;   // 10th / 90th percentile over passes
  double p90_gbs = 0;
  size_t bytes = 0;     // buffer size read per pass
  size_t threads = 1;
  size_t passes = 0;
};

// One streaming read of data by the probe's kernel on the calling thread (its sum, so the read
// is not optimised away): for checks that compare reads of the same buffer.
float StreamRead(std::span<const float> data);

// bytes == 0 picks max(256 MiB, 8 x LLC), capped at 1/8 of physical memory.
ReadBandwidth MeasureReadBandwidth(size_t threads, size_t bytes = 0, size_t passes = 7);

// LastLevelCacheBytes() lives in core/base/cache_info.h.
using hsr::LastLevelCacheBytes;
// Physical memory in bytes; 0 when unknown.
size_t PhysicalMemoryBytes();

}  // namespace hsr::sim
