// The backend registry (backends.h): names, construction, one-line errors.
#include "sim/bench/backends.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "core/base/error.h"

namespace hsr::sim {
namespace {

TEST(BackendsTest, NamesAndErrors) {
  const auto names = BackendNames();
  ASSERT_FALSE(names.empty());
  EXPECT_EQ(names[0], "dense-ref");
  const auto available = AvailableBackendNames();
  for (const auto& name : names) {
    if (std::find(available.begin(), available.end(), name) == available.end()) {
      // A GPU backend without a device: a one-line error naming it, never a CPU fallback.
      try {
        MakeBackend(name, 1);
        ADD_FAILURE() << name << " constructed without a device";
      } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()).rfind(name + ": no CUDA device (", 0), 0u) << e.what();
      }
      continue;
    }
    auto b = MakeBackend(name, 1);
    EXPECT_EQ(b->Name(), name);
  }
  try {
    MakeBackend("nope", 1);
    ADD_FAILURE() << "accepted 'nope'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("backend: expected one of dense-ref"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("got 'nope'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ParseBackendList("dense-ref,"), Error);
  EXPECT_THROW(ParseBackendList("dense-ref,dense-ref"), Error);
  EXPECT_EQ(ParseBackendList("dense-ref").size(), 1u);
}

}  // namespace
}  // namespace hsr::sim
