#include <cuda_runtime.h>

#include "gpu/base/device.h"

namespace hsr::gpu {

DeviceQuery QueryDevices() {
  DeviceQuery result;
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    result.reason = std::string("no CUDA device: ") + cudaGetErrorString(err);
    (void)cudaGetLastError();  // clear the sticky error
    return result;
  }
  if (count == 0) {
    result.reason = "no CUDA device: cudaGetDeviceCount returned 0";
    return result;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) continue;
    result.devices.push_back(
        DeviceInfo{i, prop.name, prop.major, prop.minor, static_cast<size_t>(prop.totalGlobalMem)});
  }
  if (result.devices.empty()) result.reason = "no CUDA device: properties could not be read";
  return result;
}

}  // namespace hsr::gpu
