// Float32 FMA peak measured in the same run as the prefill benchmark it normalises.
//
// Each thread of a ThreadPool (the benchmark's thread count) runs 12 independent chains of
// vector MulAdd (Highway, dynamic dispatch: the widest target the CPU runs) for a fixed count;
// 12 chains cover the FMA latency x throughput of current x86 cores (4 cycles x 2 ports = 8).
// GFLOP/s counts 2 flops per lane per MulAdd. The peak is the best pass: a shared machine only
// ever lowers a pass (another process on a core), so the median can land far below the peak
// (seen: median 99, best 180 GFLOP/s with 2 threads while a compiler ran). On the 2-core AVX2 dev
// VM: ~99 GFLOP/s with 1 thread, ~196 with 2.
#pragma once

#include <cstddef>

namespace hsr::sim {

struct FmaPeak {
  double gflops = 0;         // best pass, all threads together
  double median_gflops = 0;  // median over passes
  size_t threads = 1;
  size_t passes = 0;
};

FmaPeak MeasureFmaPeak(size_t threads, size_t passes = 7);

}  // namespace hsr::sim
