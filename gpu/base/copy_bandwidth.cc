#include "gpu/base/copy_bandwidth.h"

#include <algorithm>
#include <vector>

#include "gpu/base/cuda_check.h"
#include "gpu/base/device_buffer.h"

namespace hsr::gpu {

double DeviceCopyGbs(size_t bytes, int repeats) {
  DeviceBuffer src(bytes), dst(bytes);
  HSR_CUDA_CHECK(cudaMemset(src.get(), 1, bytes));  // never time on untouched memory
  cudaEvent_t start, stop;
  HSR_CUDA_CHECK(cudaEventCreate(&start));
  HSR_CUDA_CHECK(cudaEventCreate(&stop));
  std::vector<double> gbs;
  for (int r = -1; r < repeats; ++r) {
    HSR_CUDA_CHECK(cudaEventRecord(start));
    HSR_CUDA_CHECK(cudaMemcpy(dst.get(), src.get(), bytes, cudaMemcpyDeviceToDevice));
    HSR_CUDA_CHECK(cudaEventRecord(stop));
    HSR_CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    HSR_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    if (r >= 0 && ms > 0) gbs.push_back(2.0 * static_cast<double>(bytes) / (ms * 1e6));
  }
  (void)cudaEventDestroy(start);
  (void)cudaEventDestroy(stop);
  if (gbs.empty()) return 0.0;
  std::sort(gbs.begin(), gbs.end());
  return gbs[gbs.size() / 2];
}

}  // namespace hsr::gpu
