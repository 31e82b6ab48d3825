#include "gpu/base/device.h"

#include <gtest/gtest.h>

namespace hsr::gpu {
namespace {

// With no device the query must explain why; tests needing a device skip visibly.
TEST(DeviceTest, QueryReportsDevicesOrReason) {
  const DeviceQuery q = QueryDevices();
  if (q.devices.empty()) {
    EXPECT_FALSE(q.reason.empty());
    GTEST_SKIP() << q.reason;
  }
  for (const DeviceInfo& d : q.devices) {
    EXPECT_FALSE(d.name.empty());
    EXPECT_GE(d.sm_major, 5);
    EXPECT_GT(d.global_memory_bytes, 0u);
  }
}

}  // namespace
}  // namespace hsr::gpu
