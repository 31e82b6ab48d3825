// hsr verify's suite (verify_suite.h): a small budget passes on generated cases and a recorded
// slice (sim/workload/io/testdata), and an injected fault fails with a reproducing command.
#include "sim/suite/verify_suite.h"

#include <gtest/gtest.h>

#include <string>

namespace hsr::sim {
namespace {

TEST(VerifySuiteTest, SmallBudgetPassesAndInjectedFaultFails) {
  VerifyOptions o;
  o.cases = 5;
  o.seed = 11;
  o.workloads = {std::string("npy:") + HSR_SIM_TESTDATA + "/tinylm-code-12-f32"};
  const VerifyReport ok = RunVerify(o);
  EXPECT_TRUE(ok.ok()) << ok.failures[0].backend << " " << ok.failures[0].target << ": "
                       << ok.failures[0].detail << " (" << ok.failures.size() << " failures)";
  EXPECT_FALSE(ok.properties.empty());
  // hsr-cpu softmax rows are checked against their certificates, not skipped.
  size_t certified = 0;
  for (const auto& pc : ok.properties) {
    if (pc.name.find("within its certificate") != std::string::npos) certified += pc.passed;
  }
  EXPECT_GT(certified, 0u);
  o.inject_fault = true;
  o.cases = 1;
  const VerifyReport bad = RunVerify(o);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.failures[0].reproduce.find("hsr verify --seed 11 --cases 1"), std::string::npos)
      << bad.failures[0].reproduce;
}

}  // namespace
}  // namespace hsr::sim
