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
#include "verify/cases.h"

namespace hsr::gpu::cuda_test {

// The large decode case of the HSR device tests: many key splits (n = 2^15), GQA 4 (8 q / 2 kv
// heads), m = 2, d = dv = 128, ReLU^alpha with per-query b at the 0.9 quantile; lattice = 1:
// exact lattice values and alpha 3, else Gaussian values and alpha 1.
inline verify::AttentionCase LargeReluDecodeCase(int lattice) {
  verify::AttentionCase c;
  c.hq = 8;
  c.hkv = 2;
  c.m = 2;
  c.n = size_t{1} << 15;
  c.d = c.dv = 128;
  c.kind = AttentionKind::kRelu;
  c.alpha = 1 + lattice * 2;
  c.decode = true;
  c.lattice = lattice != 0;
  c.b_quantile = 0.9;
  c.per_query_b = true;
  c.seed = 7 + static_cast<uint64_t>(lattice);
  return c;
}

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
