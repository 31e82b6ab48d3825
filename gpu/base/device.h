// CUDA device discovery, in plain C++ (no CUDA types), so CPU code can ask whether a GPU
// backend can run. With no GPU or no driver, cudaGetDeviceCount returns an error rather than
// 0 (docs/design.md §6): every error is reported as "no CUDA device" with the reason.
#pragma once

#include <string>
#include <vector>

namespace hsr::gpu {

struct DeviceInfo {
  int index = 0;
  std::string name;
  int sm_major = 0, sm_minor = 0;
  size_t global_memory_bytes = 0;
};

struct DeviceQuery {
  std::vector<DeviceInfo> devices;  // empty when no device is usable
  std::string reason;               // why there is none (the CUDA error), else empty
};

DeviceQuery QueryDevices();

}  // namespace hsr::gpu
