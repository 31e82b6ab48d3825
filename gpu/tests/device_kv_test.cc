// K/V packing for the device (gpu/attention/device_kv.h: PackRows) and the backend's
// "no CUDA device" error, both checkable without a GPU.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/base/error.h"
#include "gpu/attention/dense_cuda_backend.h"
#include "gpu/attention/device_kv.h"
#include "gpu/base/device.h"

namespace hsr::gpu {
namespace {

TEST(PackRowsTest, LayoutRoundingAndZeroPadding) {
  const size_t rows = 5, cols = 7, stride = 9, pad = 12;
  std::vector<float> src(rows * stride, 777.0f);  // 777 in the stride gap must not be read
  std::mt19937 rng(3);
  std::normal_distribution<float> g(0.0f, 3.0f);
  for (size_t r = 0; r < rows; ++r)
    for (size_t c = 0; c < cols; ++c) src[r * stride + c] = g(rng);
  const ConstMatrixView view(src.data(), rows, cols, stride);
  for (KvDtype t : {KvDtype::kF32, KvDtype::kF16, KvDtype::kBf16}) {
    std::vector<uint8_t> out;
    PackRows("test", "K", t, view, pad, &out);
    const size_t es = BytesPerElement(t);
    ASSERT_EQ(out.size(), rows * pad * es);
    for (size_t r = 0; r < rows; ++r) {
      for (size_t c = 0; c < pad; ++c) {
        float got;
        if (es == 4) {
          std::memcpy(&got, &out[(r * pad + c) * 4], 4);
        } else {
          uint16_t bits;
          std::memcpy(&bits, &out[(r * pad + c) * 2], 2);
          got = t == KvDtype::kF16 ? HalfBitsToFloat(bits) : Bf16BitsToFloat(bits);
        }
        const float want = c < cols ? RoundTrip(t, src[r * stride + c]) : 0.0f;
        ASSERT_EQ(got, want) << ToString(t) << " [" << r << ", " << c << "]";
      }
    }
  }
}

TEST(PackRowsTest, OutOfRangeValueIsAOneLineError) {
  std::vector<float> src = {1.0f, 70000.0f};
  const ConstMatrixView view(src.data(), 1, 2);
  std::vector<uint8_t> out;
  try {
    PackRows("dense-cuda-f16 Decode", "V", KvDtype::kF16, view, 4, &out);
    FAIL() << "expected hsr::Error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "dense-cuda-f16 Decode: expected |V| <= 65504 for f16 storage, got 70000 at [0, 1]");
  }
  EXPECT_NO_THROW(PackRows("x", "V", KvDtype::kBf16, view, 4, &out));
  EXPECT_NO_THROW(PackRows("x", "V", KvDtype::kF32, view, 2, &out));
  EXPECT_THROW(PackRows("x", "V", KvDtype::kF32, view, 1, &out), Error);
}

// Without a device the backend refuses to exist, with the reason: never a silent fallback.
TEST(DenseCudaBackendTest, NoDeviceIsAOneLineError) {
  const DeviceQuery q = QueryDevices();
  if (!q.devices.empty()) GTEST_SKIP() << "a CUDA device is present: " << q.devices[0].name;
  for (KvDtype t : {KvDtype::kF32, KvDtype::kF16, KvDtype::kBf16}) {
    try {
      DenseCudaBackend backend(t);
      FAIL() << "expected hsr::Error";
    } catch (const Error& e) {
      const std::string what = e.what();
      const std::string want = DenseCudaBackend::NameFor(t) + ": no CUDA device (";
      EXPECT_EQ(what.rfind(want, 0), 0u) << what;
      EXPECT_EQ(what.back(), ')') << what;
      EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    }
  }
}

}  // namespace
}  // namespace hsr::gpu
