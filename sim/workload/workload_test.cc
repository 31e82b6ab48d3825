// Workload specs: parsing, errors, determinism and distribution of the gaussian source; every
// generator kind (determinism, Describe round trip, planted property checked exactly), recorded
// workloads from sim/workload/io/testdata; the eigen-solver (symmetric_eigen.h).
#include "sim/workload/workload.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/base/error.h"
#include "sim/workload/generators/generators.h"
#include "sim/inspect/inspect.h"
#include "sim/workload/symmetric_eigen.h"

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

// ---- generator kinds ----

bool SameBytes(const Tensor& a, const Tensor& b) {
  return a.size() == b.size() && a.heads() == b.heads() && a.rows() == b.rows() &&
         (a.size() == 0 || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

TEST(GeneratorsTest, EveryKindDeterministicAndDescribeRoundTrips) {
  const char* specs[] = {
      "gaussian:n=300,m=5,d=24,heads=4,kv_heads=2,seed=3",
      "clustered:n=300,m=5,d=24,heads=4,kv_heads=2,seed=3,clusters=7,spread=0.2",
      "lowrank:n=300,m=5,d=24,heads=4,kv_heads=2,seed=3,rank=4,noise=0.1",
      "planted:n=300,m=5,d=24,heads=4,kv_heads=2,seed=3,r=10,gap=3",
      "sinks:n=300,m=5,d=24,heads=4,kv_heads=2,seed=3,sinks=2",
  };
  for (const char* spec : specs) {
    SCOPED_TRACE(spec);
    const auto src = MakeWorkloadSource(ParseWorkloadSpec(spec));
    const Workload a = src->Make(), b = MakeFrom(spec);
    EXPECT_TRUE(SameBytes(a.q, b.q) && SameBytes(a.k, b.k) && SameBytes(a.v, b.v));
    EXPECT_EQ(a.q.heads(), 4u);
    EXPECT_EQ(a.k.heads(), 2u);
    EXPECT_EQ(a.k.rows(), 300u);
    EXPECT_EQ(a.q.rows(), 5u);
    EXPECT_EQ(a.description, src->Describe());
    // Describe() is a spec that makes the same data.
    const Workload c = MakeFrom(src->Describe());
    EXPECT_TRUE(SameBytes(a.q, c.q) && SameBytes(a.k, c.k) && SameBytes(a.v, c.v));
    EXPECT_EQ(MakeWorkloadSource(ParseWorkloadSpec(src->Describe()))->Describe(), src->Describe());
    for (float x : a.k.flat()) ASSERT_TRUE(std::isfinite(x));
    // Another seed changes K.
    WorkloadSpec other = ParseWorkloadSpec(spec);
    other.Set("seed", "4");
    EXPECT_FALSE(SameBytes(a.k, MakeWorkloadSource(other)->Make().k));
  }
}

TEST(GeneratorsTest, LowRankHasItsRank) {
  const Workload w = MakeFrom("lowrank:n=2000,d=32,rank=5,noise=0.01,seed=2");
  const Inspection in = Inspect(w);
  EXPECT_EQ(in.heads[0].rank99, 5u);
  const Workload g = MakeFrom("gaussian:n=2000,d=32,seed=2");
  EXPECT_GT(Inspect(g).heads[0].rank90, 20u);
}

TEST(GeneratorsTest, SinksAreTopOneForMostQueries) {
  const Workload w = MakeFrom("sinks:n=4096,m=64,d=64,sinks=3,seed=5");
  const Inspection in = Inspect(w);
  double share = 0;
  for (const auto& [key, s] : in.heads[0].sinks) {
    EXPECT_LT(key, 3u);
    share += s;
  }
  EXPECT_GT(share, 0.9);
  EXPECT_GT(in.heads[0].mass_top_n45.mean, 0.5);
}

TEST(GeneratorsTest, ClusteredKeysSitNearCentres) {
  // spread 0: keys repeat exactly (at most `clusters` distinct rows).
  const Workload w = MakeFrom("clustered:n=500,d=8,clusters=5,spread=0,seed=9");
  std::vector<std::vector<float>> distinct;
  for (size_t j = 0; j < w.n; ++j) {
    std::vector<float> row(w.k.Matrix(0).Row(j), w.k.Matrix(0).Row(j) + w.d);
    if (std::find(distinct.begin(), distinct.end(), row) == distinct.end()) distinct.push_back(row);
  }
  EXPECT_LE(distinct.size(), 5u);
  EXPECT_GE(distinct.size(), 2u);
}

// The planted property, checked exactly on the stored float32 data with float64 scores:
// for every query exactly r keys score >= beta1 ln n and all others <= beta2 ln n.
void CheckPlanted(const std::string& spec, size_t r, double beta1, double beta2) {
  SCOPED_TRACE(spec);
  const Workload w = MakeFrom(spec);
  const double scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(w.d)));
  const double ln_n = std::log(static_cast<double>(w.n));
  const size_t group = w.q_heads / w.kv_heads;
  for (size_t h = 0; h < w.q_heads; ++h) {
    for (size_t i = 0; i < w.m; ++i) {
      size_t high = 0;
      for (size_t j = 0; j < w.n; ++j) {
        double dot = 0;
        for (size_t a = 0; a < w.d; ++a) {
          dot += double{w.q.Matrix(h)(i, a)} * w.k.Matrix(h / group)(j, a);
        }
        const double s = scale * dot;
        if (s >= beta1 * ln_n) {
          ++high;
        } else {
          ASSERT_LE(s, beta2 * ln_n) << "head " << h << " query " << i << " key " << j;
        }
      }
      ASSERT_EQ(high, r) << "head " << h << " query " << i;
    }
  }
}

TEST(GeneratorsTest, PlantedPropertyHoldsExactly) {
  CheckPlanted("planted:n=4096,m=8,d=64,r=64,gap=4,seed=1", 64, 5.0, 1.0);
  CheckPlanted("planted:n=1000,m=40,d=16,heads=2,kv_heads=1,r=20,beta2=0.5,gap=1,seed=2", 20,
               1.5, 0.5);
  CheckPlanted("planted:n=64,m=3,d=4,r=30,beta2=0,gap=0.5,seed=3", 30, 0.5, 0.0);  // T = 2 topics
  CheckPlanted("planted:n=10000,m=2,d=32,gamma=0.5,seed=4", 100, 5.0, 1.0);       // r = n^0.5
}

TEST(GeneratorsTest, SpecErrors) {
  ExpectError("clustered:n=10,clusters=0", "clusters=0");
  ExpectError("clustered:n=10,spread=abc", "spread=abc");
  ExpectError("clustered:n=10,spread=-1", "spread=-1");
  ExpectError("clustered:n=10,spread=nan", "spread=nan");
  ExpectError("clustered:n=10,rank=3", "'rank'");
  ExpectError("lowrank:d=8,rank=9", "rank <= d");
  ExpectError("lowrank:d=8,noise=", "noise=");
  ExpectError("planted:n=10,r=11", "r <= n");
  ExpectError("planted:n=100,r=5,gamma=0.5", "got both");
  ExpectError("planted:n=100,gap=0", "gap=0");
  ExpectError("planted:n=100,bogus=1", "'bogus'");
  ExpectError("sinks:n=10,sinks=11", "sinks <= n");
  ExpectError("sinks:n=10,strength=x", "strength=x");
  ExpectError("npy:/nonexistent/dir", "nonexistent");
  ExpectError("npy", "no path");
  ExpectError(std::string("npy:") + HSR_SIM_TESTDATA + "/tinylm-code-12-f32,zz=1", "'zz'");
  ExpectError(std::string("npy:") + HSR_SIM_TESTDATA + "/tinylm-code-12-f32,m=0", "m=0");
}

// ---- recorded workloads ----

// Relative recorded paths (ResolveWorkloadPath): the current directory first, then the source
// tree; the spec keeps the relative spelling; nowhere found is one line naming the path.
TEST(RecordedWorkloadTest, RelativePathsResolveFromAnyDirectory) {
  namespace fs = std::filesystem;
  const fs::path before = fs::current_path();
  const fs::path elsewhere = fs::temp_directory_path() / fmt::format("hsr_resolve_{}", ::getpid());
  fs::create_directories(elsewhere / "sim/workload/data");
  fs::current_path(elsewhere);
  const std::string rel = "sim/workload/data/tinylm-docs-2k-f16";
  EXPECT_EQ(ResolveWorkloadPath(rel, "test"),
            (fs::path(HSR_SOURCE_DIR) / rel).lexically_normal().string());
  const Workload w = MakeFrom("npy:" + rel + ",m=4");
  EXPECT_EQ(w.description, "npy:" + rel + ",layer=2,head=all,m=4");
  EXPECT_EQ(w.n, 2048u);
  const Workload f = MakeFrom("fitted:npy:" + rel + ",n=512");
  EXPECT_EQ(f.description.rfind("fitted:npy:" + rel + ",layer=2,", 0), 0u) << f.description;
  // A folder of that name in the current directory wins.
  fs::create_directories(elsewhere / rel);
  EXPECT_EQ(ResolveWorkloadPath(rel, "test"), rel);
  fs::current_path(before);
  fs::remove_all(elsewhere);
  ExpectError("npy:sim/workload/data/no-such-recording",
              "workload 'npy': expected sim/workload/data/no-such-recording relative to one of [");
  ExpectError("fitted:npy:sim/workload/data/no-such-recording,n=8",
              "workload 'fitted': expected sim/workload/data/no-such-recording relative to");
}

TEST(RecordedWorkloadTest, NpyDirMapsIntoWorkload) {
  const std::string dir = std::string(HSR_SIM_TESTDATA) + "/tinylm-code-12-f32";
  auto src = MakeWorkloadSource(ParseWorkloadSpec("npy:" + dir));
  EXPECT_EQ(src->Describe(), "npy:" + dir + ",layer=3,head=all,m=1");
  const Workload w = src->Make();
  EXPECT_TRUE(w.recorded);
  EXPECT_TRUE(w.causal);
  EXPECT_FLOAT_EQ(w.scale, 0.125f);
  EXPECT_EQ(w.q_heads, 4u);
  EXPECT_EQ(w.kv_heads, 4u);
  EXPECT_EQ(w.n, 12u);
  EXPECT_EQ(w.m, 1u);
  EXPECT_EQ(w.d, 64u);
  const Workload all = MakeFrom("npy:" + dir + ",layer=3,head=2,m=all");
  EXPECT_EQ(all.q_heads, 1u);
  EXPECT_EQ(all.m, 12u);
  // m=1 is the last query row of the recording.
  const Workload last = MakeFrom("npy:" + dir + ",head=2");
  EXPECT_EQ(std::memcmp(last.q.data(), all.q.Matrix(0).Row(11), 64 * sizeof(float)), 0);
  for (const char* f : {"/tinylm-code-8.npz", "/tinylm-code-2.npz"}) {
    const Workload z = MakeFrom(std::string("npz:") + HSR_SIM_TESTDATA + f);
    EXPECT_TRUE(z.recorded);
    EXPECT_GT(z.n, 0u);
  }
  const Workload st = MakeFrom(std::string("safetensors:") + HSR_SIM_TESTDATA +
                               "/tinylm-code-8.safetensors,m=all");
  EXPECT_TRUE(st.recorded);
  EXPECT_EQ(st.m, st.n);
}

// ---- eigen-solver (fitted, inspect) ----

TEST(SymmetricEigenTest, JacobiEigenvaluesOfKnownMatrix) {
  // [[2, 1], [1, 2]]: eigenvalues 3, 1.
  const auto ev = SymmetricEigenvalues({2, 1, 1, 2}, 2);
  EXPECT_NEAR(ev[0], 3.0, 1e-12);
  EXPECT_NEAR(ev[1], 1.0, 1e-12);
  // Diagonal in a rotated basis: trace and eigenvalues kept.
  const auto ev3 = SymmetricEigenvalues({4, 1, 0, 1, 3, 1, 0, 1, 2}, 3);
  EXPECT_NEAR(ev3[0] + ev3[1] + ev3[2], 9.0, 1e-12);
  EXPECT_NEAR(ev3[0], 3 + std::sqrt(3.0), 1e-12);
  EXPECT_NEAR(ev3[2], 3 - std::sqrt(3.0), 1e-12);
  EXPECT_EQ(ComponentsForEnergy({9, 0.5, 0.5}, 0.9), 1u);
  EXPECT_EQ(ComponentsForEnergy({9, 0.5, 0.5}, 0.99), 3u);
}

// ---- fitted ----

TEST(FittedWorkloadTest, DeterministicDescribedAndExtendsWithN) {
  const std::string dir = std::string(HSR_SIM_TESTDATA) + "/tinylm-code-64-f16";
  const auto src = MakeWorkloadSource(ParseWorkloadSpec("fitted:npy:" + dir + ",n=300,m=3"));
  const std::string desc = src->Describe();
  EXPECT_EQ(desc.rfind("fitted:npy:" + dir + ",layer=3,head=0,n=300,m=3,seed=1,rank=auto,sinks=",
                       0), 0u) << desc;
  const Workload a = src->Make(), b = MakeFrom(desc);
  EXPECT_TRUE(SameBytes(a.q, b.q) && SameBytes(a.k, b.k) && SameBytes(a.v, b.v));
  EXPECT_EQ(a.description, desc);
  EXPECT_EQ(a.n, 300u);
  EXPECT_EQ(a.m, 3u);
  EXPECT_EQ(a.d, 64u);
  EXPECT_FALSE(a.causal);
  EXPECT_FALSE(a.recorded);
  EXPECT_FLOAT_EQ(a.scale, 0.125f);
  for (float x : a.k.flat()) ASSERT_TRUE(std::isfinite(x));
  // A larger n extends the same keys; another seed changes them.
  const Workload big = MakeFrom("fitted:npy:" + dir + ",n=600,m=3");
  EXPECT_EQ(std::memcmp(big.k.data(), a.k.data(), a.k.size() * sizeof(float)), 0);
  EXPECT_FALSE(SameBytes(a.k, MakeFrom("fitted:npy:" + dir + ",n=300,m=3,seed=2").k));
  // Explicit rank and sinks; sink positions hold recorded keys.
  const Workload r = MakeFrom("fitted:npy:" + dir + ",layer=3,head=1,n=100,rank=4,sinks=0");
  EXPECT_EQ(r.k.rows(), 100u);
  ExpectError("fitted:npy:" + dir + ",m=2", "n=N");
  ExpectError("fitted:npz:" + dir + ",n=10", "fitted:npy:DIR");
  ExpectError("fitted:npy:" + dir + ",n=10,rank=65", "rank");
  ExpectError("fitted:npy:" + dir + ",n=10,zz=1", "'zz'");
  ExpectError("fitted:npy:" + dir + ",n=10,outliers=maybe", "outliers=on or outliers=off");
}

// Planted outliers (fitted.cc): each query gets its profile's keys right after the sinks, at the
// recording's score gaps above the bulk mean; outliers=off draws the independent model alone,
// which differs from the planted one only in those keys.
TEST(FittedWorkloadTest, OutliersArePlantedAfterTheSinks) {
  const std::string dir = std::string(HSR_SOURCE_DIR) + "/sim/workload/data/tinylm-code-2k-f16";
  const Workload on = MakeFrom("fitted:npy:" + dir + ",head=3,n=4096,m=2");
  const Workload off = MakeFrom("fitted:npy:" + dir + ",head=3,n=4096,m=2,outliers=off");
  EXPECT_NE(on.description.find(",outliers=on"), std::string::npos) << on.description;
  EXPECT_TRUE(SameBytes(on.q, off.q) && SameBytes(on.v, off.v));
  size_t changed = 0, last = 0;
  for (size_t j = 0; j < on.n; ++j) {
    if (std::memcmp(on.k.Matrix(0).Row(j), off.k.Matrix(0).Row(j), on.d * sizeof(float)) != 0) {
      ++changed;
      last = j;
    }
  }
  EXPECT_GT(changed, 0u);
  EXPECT_EQ(last + 1, changed);  // contiguous from key 0 (this head has no sinks)
  // Each planted key scores far above the bulk for one of the two queries.
  size_t high = 0;
  for (size_t j = 0; j < changed; ++j) {
    double best = -1e30;
    for (size_t r = 0; r < 2; ++r) {
      double dot = 0;
      for (size_t a = 0; a < on.d; ++a) dot += double{on.q.Matrix(0)(r, a)} * on.k.Matrix(0)(j, a);
      best = std::max(best, on.scale * dot);
    }
    high += best > 5.0;  // the bulk's scaled scores have std ~4.5 around a mean ~ -2
  }
  EXPECT_EQ(high, changed);
  ExpectError("fitted:npy:" + dir + ",head=3,n=3,m=64", "planted outlier keys");
}

// Recording vs fitted model at the recording's n (CompareFittedToRecording). These are modelling
// tolerances, not float error: each is the worst agreement measured on the 8 shipped heads
// (tinylm-code-2k layer 3, tinylm-docs-2k layer 2; README "Workloads" has the table) with some
// room, so a change that makes the model worse fails here.
//  - score std within 20% (measured <= 18%) and mean within 0.35 std (<= 0.29): independent Q
//    and K lose the relative-position (rotary) correlation of a query with the keys near it, so
//    the fitted bulk is wider and its mean higher;
//  - reported fraction at the paper b within 25% (+ 0.2 points; measured <= 21%);
//  - softmax mass above b within 0.08 (measured <= 0.066): the planted outliers carry it (the
//    model without them: up to 0.21 below);
//  - keys needed for err=1e-3, true minimum, within a factor 2.5 (+ 0.5 points; measured <= 1.9x;
//    without outliers up to 12x): the wider fitted bulk holds more of the last 1e-3 of mass.
void ExpectFittedCloseToRecording(const std::string& spec) {
  const FittedComparison c = CompareFittedToRecording(ParseWorkloadSpec(spec));
  std::printf("[ fitted   ] %s: %s\n", spec.c_str(), c.Format().c_str());
  EXPECT_NEAR(c.fit_std, c.rec_std, 0.20 * c.rec_std) << c.Format();
  EXPECT_NEAR(c.fit_mean, c.rec_mean, 0.35 * c.rec_std) << c.Format();
  EXPECT_NEAR(c.fit_paper, c.rec_paper, 0.25 * c.rec_paper + 0.002) << c.Format();
  EXPECT_NEAR(c.fit_mass, c.rec_mass, 0.08) << c.Format();
  EXPECT_LE(c.fit_need, 2.5 * c.rec_need + 0.005) << c.Format();
  EXPECT_GE(c.fit_need, c.rec_need / 2.5 - 0.005) << c.Format();
}

TEST(FittedWorkloadTest, ScoreStatisticsCloseToTestdataSlice) {
  ExpectFittedCloseToRecording(std::string("fitted:npy:") + HSR_SIM_TESTDATA +
                               "/tinylm-code-64-f16,head=0");
}

TEST(FittedWorkloadTest, ScoreStatisticsCloseToShippedRecordings) {
  const std::string root = std::string(HSR_SOURCE_DIR) + "/sim/workload/data";
  for (size_t h = 0; h < 4; ++h) {
    ExpectFittedCloseToRecording(
        fmt::format("fitted:npy:{}/tinylm-code-2k-f16,layer=3,head={}", root, h));
    ExpectFittedCloseToRecording(
        fmt::format("fitted:npy:{}/tinylm-docs-2k-f16,layer=2,head={}", root, h));
  }
}

}  // namespace
}  // namespace hsr::sim
