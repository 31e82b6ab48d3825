// Device memory roofline: a large device-to-device copy timed with CUDA events (median of
// several), counting bytes read plus bytes written. Used as read_gbs
// of GPU result rows so roofline_frac compares a kernel with what the card moves.
#pragma once

#include <cstddef>

namespace hsr::gpu {

// GB/s (1e9 bytes) of cudaMemcpyDeviceToDevice over `bytes` (read + written), median of
// `repeats` after one warm-up. Throws hsr::Error on a CUDA error (e.g. no device).
double DeviceCopyGbs(size_t bytes = size_t{1} << 30, int repeats = 7);

}  // namespace hsr::gpu
