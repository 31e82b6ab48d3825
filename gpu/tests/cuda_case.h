// Case setup shared by the device tests (dense_cuda_test.cc, hsr_cuda_test.cc,
// hsr_cuda_sketch_test.cc): the device query, the visible skip without a GPU, and K/V rounded
// through the storage type.
//
// float16 / bfloat16 storage: the tests round K and V to the storage type on the host
// (kv_dtype.h, checked bit-exact against CUDA's conversions) and give the ORACLE (and the CPU
// indexes) those rounded values; the device converts them back exactly, so the float32 error
// model applies unchanged (the quantization error itself is not a kernel error; `hsr bench`
// reports it against the unrounded data).
#pragma once

#include <gtest/gtest.h>

#include <vector>

#include "core/attention/kv_cache.h"
#include "core/tensor/view.h"
#include "gpu/base/device.h"
#include "gpu/base/kv_dtype.h"

namespace hsr::gpu::cuda_test {

inline const DeviceQuery& Devices() {
  static const DeviceQuery q = QueryDevices();
  return q;
}

// Skips the current test with the reason ("no CUDA device: ...") when there is no usable GPU.
#define HSR_SKIP_WITHOUT_DEVICE()                                                          \
  do {                                                                                     \
    if (::hsr::gpu::cuda_test::Devices().devices.empty())                                  \
      GTEST_SKIP() << ::hsr::gpu::cuda_test::Devices().reason;                             \
  } while (0)

// K/V of a case rounded through the storage type, densely laid out.
struct RoundedKv {
  std::vector<float> k, v;
  KvCache kv;
  RoundedKv(const KvCache& src, KvDtype t) {
    const size_t h = src.heads(), n = src.n(), d = src.d(), dv = src.dv();
    k.resize(h * n * d + 1);
    v.resize(h * n * dv + 1);
    for (size_t x = 0; x < h; ++x) {
      for (size_t r = 0; r < n; ++r) {
        for (size_t c = 0; c < d; ++c) k[(x * n + r) * d + c] = RoundTrip(t, src.k().Head(x)(r, c));
        for (size_t c = 0; c < dv; ++c) {
          v[(x * n + r) * dv + c] = RoundTrip(t, src.v().Head(x)(r, c));
        }
      }
    }
    kv = KvCache(ConstHeadsView(k.data(), h, n, d), ConstHeadsView(v.data(), h, n, dv));
  }
};

}  // namespace hsr::gpu::cuda_test
