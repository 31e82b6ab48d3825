#include "gpu/base/device_buffer.h"

#include <utility>

#include "core/base/error.h"
#include "gpu/base/cuda_check.h"

namespace hsr::gpu {

DeviceBuffer::~DeviceBuffer() { Release(); }

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& o) noexcept {
  if (this != &o) {
    Release();
    ptr_ = std::exchange(o.ptr_, nullptr);
    bytes_ = std::exchange(o.bytes_, 0);
  }
  return *this;
}

void DeviceBuffer::Release() noexcept {
  if (ptr_ != nullptr) (void)cudaFree(ptr_);
  ptr_ = nullptr;
  bytes_ = 0;
}

void DeviceBuffer::Reserve(size_t bytes) {
  if (bytes <= bytes_) return;
  Release();
  void* p = nullptr;
  HSR_CUDA_CHECK(cudaMalloc(&p, bytes));
  ptr_ = p;
  bytes_ = bytes;
}

void DeviceBuffer::Upload(const void* host, size_t bytes, size_t offset) {
  HSR_CHECK(offset + bytes <= bytes_, "DeviceBuffer: expected a copy within {} bytes, got {} at {}",
            bytes_, bytes, offset);
  if (bytes == 0) return;
  HSR_CUDA_CHECK(cudaMemcpy(static_cast<char*>(ptr_) + offset, host, bytes,
                            cudaMemcpyHostToDevice));
}

void DeviceBuffer::Download(void* host, size_t bytes, size_t offset) const {
  HSR_CHECK(offset + bytes <= bytes_, "DeviceBuffer: expected a copy within {} bytes, got {} at {}",
            bytes_, bytes, offset);
  if (bytes == 0) return;
  HSR_CUDA_CHECK(cudaMemcpy(host, static_cast<const char*>(ptr_) + offset, bytes,
                            cudaMemcpyDeviceToHost));
}

}  // namespace hsr::gpu
