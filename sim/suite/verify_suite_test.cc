// hsr verify's suite (verify_suite.h): a small budget passes on generated cases and a recorded
// slice (sim/workload/io/testdata), and an injected fault fails with a reproducing command.
#include "sim/suite/verify_suite.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <string>

#include "sim/bench/backends.h"
#include "sim/bench/targets.h"

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

// What was not exercised is named with its reason and never counted as passed: a target this
// machine cannot run (avx3_zen4 in Highway 1.0.3), every built backend without its device (GPU
// backends here: "no CUDA device"); the checked targets are exactly the runnable ones asked for.
TEST(VerifySuiteTest, UnexercisedBackendsAndTargetsAreNamedSkips) {
  VerifyOptions o;
  o.cases = 3;
  o.indexes = {};
  o.targets = {"avx2", "avx3_zen4"};
  const VerifyReport r = RunVerify(o);
  EXPECT_TRUE(r.ok());
  const auto skip = [&](const std::string& what) {
    return std::find_if(r.skips.begin(), r.skips.end(),
                        [&](const VerifySkip& s) { return s.what == what; });
  };
  const TargetChoice zen4 = LookupTarget("avx3_zen4");
  const TargetChoice avx2 = LookupTarget("avx2");
  if (!zen4.unavailable.empty()) {
    ASSERT_NE(skip("target avx3_zen4"), r.skips.end());
    EXPECT_EQ(skip("target avx3_zen4")->reason, zen4.unavailable);
  }
  EXPECT_EQ(r.targets, avx2.unavailable.empty() ? std::vector<std::string>{"AVX2"}
                                                : std::vector<std::string>{});
  const auto available = AvailableBackendNames();
  for (const auto& name : BackendNames()) {
    const bool here = std::find(available.begin(), available.end(), name) != available.end();
    const bool checked = std::find(r.backends.begin(), r.backends.end(), name) != r.backends.end();
    EXPECT_EQ(checked, here) << name;
    if (!here) {
      ASSERT_NE(skip("backend " + name), r.skips.end()) << name;
      EXPECT_EQ(skip("backend " + name)->reason.rfind("no CUDA device", 0), 0u) << name;
    }
  }
  // No --target: every target this machine runs, in Highway's names.
  o.targets = {};
  const VerifyReport all = RunVerify(o);
  std::vector<std::string> runnable;
  for (const auto& t : RunnableTargets()) {
    std::string up = t.name;
    for (char& c : up) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    runnable.push_back(up);
  }
  EXPECT_EQ(all.targets, runnable);
}

}  // namespace
}  // namespace hsr::sim
