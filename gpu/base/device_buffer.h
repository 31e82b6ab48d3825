// DeviceBuffer: owning, move-only device allocation (cudaMalloc), plain C++ interface.
// Every CUDA error throws hsr::Error (cuda_check.h).
#pragma once

#include <cstddef>

namespace hsr::gpu {

class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t bytes) { Reserve(bytes); }
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& o) noexcept : ptr_(o.ptr_), bytes_(o.bytes_) {
    o.ptr_ = nullptr;
    o.bytes_ = 0;
  }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  // Grows to at least `bytes` (contents are not kept when it grows).
  void Reserve(size_t bytes);
  void* get() const { return ptr_; }
  template <typename T>
  T* as() const { return static_cast<T*>(ptr_); }
  size_t bytes() const { return bytes_; }

  // Synchronous copies of `bytes` at byte offset `offset`.
  void Upload(const void* host, size_t bytes, size_t offset = 0);
  void Download(void* host, size_t bytes, size_t offset = 0) const;

 private:
  void Release() noexcept;
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace hsr::gpu
