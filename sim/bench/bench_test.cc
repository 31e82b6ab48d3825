// One benchmark point (bench.h) on tiny workloads: each row records the Highway target asked for
// and the one that ran, an unrunnable target is a one-line error, a cold sample evicts the
// backends' own buffers with K/V, and every index lists the memory it holds.
#include "sim/bench/bench.h"

#include <gtest/gtest.h>

#include <cctype>
#include <string>

#include "core/base/error.h"
#include "core/index/half_space_index.h"
#include "sim/bench/targets.h"
#include "sim/workload/workload.h"

namespace hsr::sim {
namespace {

Workload Tiny(const std::string& spec) { return MakeWorkloadSource(ParseWorkloadSpec(spec))->Make(); }

BenchConfig Quick(std::vector<std::string> backends) {
  BenchConfig cfg;
  cfg.backends = std::move(backends);
  cfg.sampling.min_rounds = 6;
  cfg.sampling.budget_s = 0.05;
  cfg.read_cache = nullptr;
  return cfg;
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// Every target this machine runs: the rows say it was asked for and that it ran (Highway's
// name of the dispatched target, e.g. "AVX2"), and the paired sampling gave >= the floor.
TEST(BenchTest, EachRowRecordsTheTargetItRanUnder) {
  const Workload w = Tiny("gaussian:n=512,d=16");
  std::map<size_t, ReadBandwidth> read;
  read[1] = ReadBandwidth{10, 10, 10, 1, 1, 1};  // skip the probe
  for (const TargetChoice& t : RunnableTargets()) {
    BenchConfig cfg = Quick({"dense-ref", "dense-hwy"});
    cfg.read_cache = &read;
    cfg.target = RequireTarget(t.name);
    const BenchResult res = RunBench(w, cfg);
    ASSERT_EQ(res.rows.size(), 2u);
    for (const auto& row : res.rows) {
      EXPECT_EQ(row.target, t.name);
      EXPECT_EQ(row.cpu_target, Upper(t.name)) << t.name;
      EXPECT_GE(row.samples, cfg.sampling.min_rounds);
      EXPECT_EQ(row.samples, res.rounds);
    }
    ASSERT_TRUE(res.rows[1].speedup.has_value());  // dense-hwy vs dense-ref, paired
    ASSERT_TRUE(res.rows[1].speedup_lo.has_value());
    EXPECT_LE(*res.rows[1].speedup_lo, *res.rows[1].speedup);
    EXPECT_LE(*res.rows[1].speedup, *res.rows[1].speedup_hi);
  }
}

// A target this machine cannot run is refused with its reason; AVX3_ZEN4 does not exist in
// Highway 1.0.3, one of EMU128 / SCALAR is not compiled, the others depend on the CPU.
TEST(BenchTest, AnUnrunnableTargetIsAOneLineError) {
  for (const std::string& name : TargetNames()) {
    const TargetChoice c = LookupTarget(name);
    if (c.unavailable.empty()) {
      EXPECT_NO_THROW(RequireTarget(name));
      continue;
    }
    try {
      RequireTarget(name);
      ADD_FAILURE() << name << " accepted although " << c.unavailable;
    } catch (const Error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("--target: expected a target this machine runs"), std::string::npos);
      EXPECT_NE(what.find(c.unavailable), std::string::npos) << what;
      EXPECT_EQ(what.find('\n'), std::string::npos);
    }
    BenchConfig cfg = Quick({"dense-hwy"});
    cfg.target = c;
    EXPECT_THROW(RunBench(Tiny("gaussian:n=64,d=8"), cfg), Error) << name;
  }
#ifndef HWY_AVX3_ZEN4
  EXPECT_NE(LookupTarget("avx3_zen4").unavailable.find("not compiled in this Highway"),
            std::string::npos);
#endif
  EXPECT_THROW(LookupTarget("avx9"), Error);
  EXPECT_THROW(ParseTargetList("avx2,avx2"), Error);
  EXPECT_THROW(ParseTargetList("avx2,"), Error);
}

// Cold samples evict K, V, q, out and hsr-cpu's index (its Buffers: the float32 key copy, the
// int8 codes, scales and slacks), so the evicted bytes exceed K + V by the index's size.
TEST(BenchTest, ColdSamplesEvictTheBackendsOwnBuffers) {
  const Workload w = Tiny("gaussian:n=2048,d=32");
  std::map<size_t, ReadBandwidth> read;
  read[1] = ReadBandwidth{10, 10, 10, 1, 1, 1};
  BenchConfig cfg = Quick({"dense-hwy", "hsr-cpu"});
  cfg.read_cache = &read;
  cfg.params.kind = AttentionKind::kRelu;
  const BenchResult res = RunBench(w, cfg);
  ASSERT_TRUE(res.cold);
  const double kv = 2048.0 * (32 + 32) * sizeof(float);
  const double sketch = 2048.0 * 32 * sizeof(float) + 2048.0 * (32 + 8);  // keys, codes, a, w
  EXPECT_GE(res.cold_bytes, kv + sketch);
  cfg.cold = ColdMode::kOff;
  EXPECT_EQ(RunBench(w, cfg).cold_bytes, 0.0);
}

// Every index's Buffers cover at least its float32 key copy and at most what it holds.
TEST(BenchTest, IndexBuffersCoverTheirKeysWithinTheirMemory) {
  const Workload w = Tiny("gaussian:n=1000,d=24");
  for (const std::string& name : IndexNames()) {
    auto index = MakeIndex(name);
    index->Build(w.k.Heads().Head(0), 0.2f);
    double bytes = 0;
    for (const auto b : index->Buffers()) bytes += static_cast<double>(b.size());
    EXPECT_GE(bytes, 1000.0 * 24 * sizeof(float)) << name;
    EXPECT_LE(bytes, static_cast<double>(index->MemoryBytes())) << name;
  }
}

}  // namespace
}  // namespace hsr::sim
