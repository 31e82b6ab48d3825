// hsr inspect's statistics on a workload with a known answer (planted keys).
#include "sim/inspect/inspect.h"

#include <gtest/gtest.h>

#include <string>

namespace hsr::sim {
namespace {

Workload MakeFrom(const std::string& spec) {
  return MakeWorkloadSource(ParseWorkloadSpec(spec))->Make();
}

TEST(InspectTest, PlantedReportsItsKeys) {
  const Inspection in = Inspect(MakeFrom("planted:n=4096,m=16,d=64,r=64,seed=1"));
  ASSERT_EQ(in.heads.size(), 1u);
  // All 64 planted keys lie far above the paper threshold; the rest are N(0, 1).
  EXPECT_GE(in.heads[0].paper_frac.min, 64.0 / 4096);
  EXPECT_NEAR(in.heads[0].mass_top_n45.min, 1.0, 1e-9);
  EXPECT_EQ(in.heads[0].sampled, 16u);
}

}  // namespace
}  // namespace hsr::sim
