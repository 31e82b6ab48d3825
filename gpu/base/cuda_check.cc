#include "gpu/base/cuda_check.h"

#include "core/base/error.h"

namespace hsr::gpu {

void FailCuda(const char* call, cudaError_t err) {
  const char* name = cudaGetErrorName(err);
  const char* text = cudaGetErrorString(err);
  (void)cudaGetLastError();  // clear a non-sticky error so the next call starts clean
  Fail("CUDA: expected success from {}, got {} ({})", call, name, text);
}

}  // namespace hsr::gpu
