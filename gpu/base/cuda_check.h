// HSR_CUDA_CHECK(call): throws hsr::Error "<call> failed: <CUDA error string>" on a CUDA error.
// Usable from .cu and .cc files (the message is formatted in cuda_check.cc, so nvcc never
// compiles fmt).
#pragma once

#include <cuda_runtime.h>

namespace hsr::gpu {

[[noreturn]] void FailCuda(const char* call, cudaError_t err);

}  // namespace hsr::gpu

#define HSR_CUDA_CHECK(call)                                 \
  do {                                                       \
    const cudaError_t hsr_cuda_err_ = (call);                \
    if (hsr_cuda_err_ != cudaSuccess) ::hsr::gpu::FailCuda(#call, hsr_cuda_err_); \
  } while (0)
