// Workload specs: parsing, errors, determinism and distribution of the gaussian source;
// plus the backend registry's names and errors.
#include "sim/workload.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>

#include "core/base/error.h"
#include "sim/backends.h"

namespace hsr::sim {
namespace {

Workload MakeFrom(const std::string& spec) {
  return MakeWorkloadSource(ParseWorkloadSpec(spec))->Make();
}

// Expects hsr::Error whose message contains `needle`.
void ExpectError(const std::string& spec, const std::string& needle) {
  try {
    MakeWorkloadSource(ParseWorkloadSpec(spec));
    ADD_FAILURE() << "spec '" << spec << "' was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos)
        << "spec '" << spec << "': " << e.what();
    EXPECT_NE(std::string(e.what()).find("expected"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
  }
}

TEST(WorkloadSpecTest, ParsesKindAndKeys) {
  const WorkloadSpec s = ParseWorkloadSpec("gaussian:n=10,d=4,seed=7");
  EXPECT_EQ(s.kind, "gaussian");
  ASSERT_EQ(s.keys.size(), 3u);
  EXPECT_EQ(s.Get("d").value(), "4");
  EXPECT_FALSE(s.Has("m"));
  EXPECT_EQ(ParseWorkloadSpec("gaussian").keys.size(), 0u);
}

TEST(WorkloadSpecTest, DefaultsAndDescribe) {
  auto src = MakeWorkloadSource(ParseWorkloadSpec("gaussian"));
  EXPECT_EQ(src->Describe(), "gaussian:n=65536,m=1,d=128,dv=128,heads=1,kv_heads=1,seed=1");
  auto src2 = MakeWorkloadSource(ParseWorkloadSpec("gaussian:d=8,heads=4,kv_heads=2,seed=3"));
  EXPECT_EQ(src2->Describe(), "gaussian:n=65536,m=1,d=8,dv=8,heads=4,kv_heads=2,seed=3");
}

TEST(WorkloadSpecTest, SetOverridesKey) {
  WorkloadSpec s = ParseWorkloadSpec("gaussian:n=10,d=4");
  s.Set("n", "32");
  s.Set("m", "2");
  const Workload w = MakeWorkloadSource(s)->Make();
  EXPECT_EQ(w.n, 32u);
  EXPECT_EQ(w.m, 2u);
  EXPECT_EQ(w.k.rows(), 32u);
  EXPECT_EQ(w.q.rows(), 2u);
}

TEST(WorkloadSpecTest, Errors) {
  ExpectError("nosuchkind:n=4", "'nosuchkind'");
  ExpectError("gaussian:n=4,bogus=1", "'bogus'");
  ExpectError("gaussian:n=abc", "n=abc");
  ExpectError("gaussian:n=1.5", "n=1.5");
  ExpectError("gaussian:n=-3", "n=-3");
  ExpectError("gaussian:n=0", "n=0");
  ExpectError("gaussian:d=0", "d=0");
  ExpectError("gaussian:n=", "n=");
  ExpectError("gaussian:n", "'n'");
  ExpectError("gaussian:n=4,", "''");
  ExpectError("gaussian:n=4,n=5", "twice");
  ExpectError(":n=4", "KIND");
  ExpectError("", "KIND");
  ExpectError("gaussian:heads=3,kv_heads=2", "multiple of kv_heads");
  ExpectError("gaussian:n=99999999999999,d=99999999", "1 TiB");
}

TEST(GaussianTest, SameSeedSameData) {
  const Workload a = MakeFrom("gaussian:n=1000,d=7,m=3,heads=2,seed=5");
  const Workload b = MakeFrom("gaussian:n=1000,d=7,m=3,heads=2,seed=5");
  ASSERT_EQ(a.k.size(), b.k.size());
  EXPECT_EQ(std::memcmp(a.q.data(), b.q.data(), a.q.size() * 4), 0);
  EXPECT_EQ(std::memcmp(a.k.data(), b.k.data(), a.k.size() * 4), 0);
  EXPECT_EQ(std::memcmp(a.v.data(), b.v.data(), a.v.size() * 4), 0);
  EXPECT_EQ(a.seed, 5u);
  EXPECT_EQ(a.description, "gaussian:n=1000,m=3,d=7,dv=7,heads=2,kv_heads=2,seed=5");
}

TEST(GaussianTest, DifferentSeedOrStreamDifferentData) {
  const Workload a = MakeFrom("gaussian:n=1000,d=8,seed=1");
  const Workload b = MakeFrom("gaussian:n=1000,d=8,seed=2");
  size_t same = 0;
  for (size_t i = 0; i < a.k.size(); ++i) same += a.k.data()[i] == b.k.data()[i];
  EXPECT_EQ(same, 0u);
  // K and V of one seed differ too.
  same = 0;
  for (size_t i = 0; i < a.k.size(); ++i) same += a.k.data()[i] == a.v.data()[i];
  EXPECT_EQ(same, 0u);
}

TEST(GaussianTest, LongerTensorExtendsShorter) {
  const Workload a = MakeFrom("gaussian:n=100,d=8,seed=9");
  const Workload b = MakeFrom("gaussian:n=300,d=8,seed=9");
  EXPECT_EQ(std::memcmp(a.k.data(), b.k.data(), a.k.size() * 4), 0);
}

TEST(GaussianTest, MomentsLookStandardNormal) {
  // 2^20 samples: the sample mean has sd 1/1024 and the variance sd sqrt(2)/1024.
  std::vector<float> x(size_t{1} << 20);
  FillGaussian(123, 1, x, 2);
  double sum = 0, sum2 = 0, sum4 = 0;
  for (float v : x) {
    ASSERT_TRUE(std::isfinite(v));
    sum += v;
    sum2 += double(v) * v;
    sum4 += double(v) * v * v * v;
  }
  const double n = static_cast<double>(x.size());
  EXPECT_NEAR(sum / n, 0.0, 5.0 / 1024);
  EXPECT_NEAR(sum2 / n, 1.0, 5.0 * 1.42 / 1024);
  EXPECT_NEAR(sum4 / n, 3.0, 0.05);  // kurtosis of N(0,1)
  // Thread count does not change the data.
  std::vector<float> y(x.size());
  FillGaussian(123, 1, y, 1);
  EXPECT_EQ(std::memcmp(x.data(), y.data(), x.size() * 4), 0);
}

TEST(BackendsTest, NamesAndErrors) {
  const auto names = BackendNames();
  ASSERT_FALSE(names.empty());
  EXPECT_EQ(names[0], "dense-ref");
  for (const auto& name : names) {
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
