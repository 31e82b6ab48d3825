// Paired sampling (sampling.h) on synthetic samples and a fake clock: the alternation order, the
// floor, the interval stop rule and the budget.
#include "sim/bench/sampling.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <vector>

#include "core/base/error.h"

namespace hsr::sim {
namespace {

// Units that log their calls and advance a fake clock by their sample.
struct FakeUnits {
  double clock = 0;  // seconds
  std::vector<size_t> order;
  std::vector<std::function<double()>> fns;
  FakeUnits(size_t units, const std::function<double(size_t)>& value) {
    for (size_t u = 0; u < units; ++u) {
      fns.push_back([this, u, value] {
        order.push_back(u);
        const double v = value(u);
        clock += v * 1e-6;  // samples are microseconds
        return v;
      });
    }
  }
  std::function<double()> Now() {
    return [this] { return clock; };
  }
};

TEST(SamplingTest, UnitsAlternateRoundByRound) {
  FakeUnits f(3, [](size_t u) { return 100.0 * static_cast<double>(u + 1); });
  SamplingRule rule;
  rule.min_rounds = 7;
  rule.budget_s = 1e-9;  // spent after the first round: the floor alone decides
  const PairedSamples s = SamplePaired(f.fns, {}, rule, f.Now());
  EXPECT_EQ(s.rounds, 7u);
  ASSERT_EQ(f.order.size(), 21u);
  for (size_t i = 0; i < f.order.size(); ++i) EXPECT_EQ(f.order[i], i % 3) << i;
  for (const auto& u : s.samples) EXPECT_EQ(u.size(), 7u);
}

// A constant 2x ratio under common noise (both units of a round slowed alike, as pairing
// assumes): the ratio interval is [2, 2] from the first check on, so sampling stops at the
// floor, converged, although the times themselves spread by 2x.
TEST(SamplingTest, PairedRatioConvergesDespiteCommonNoise) {
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> load(1.0, 2.0);
  double round_load = 1;
  FakeUnits f(2, [&](size_t u) {
    if (u == 0) round_load = load(rng);
    return round_load * (u == 0 ? 200.0 : 100.0);
  });
  SamplingRule rule;
  rule.min_rounds = 8;
  rule.budget_s = 100;
  rule.min_seconds = 0;
  const SpeedupPair pair{1, 0};  // unit 1 against baseline unit 0
  const PairedSamples s = SamplePaired(f.fns, {&pair, 1}, rule, f.Now());
  EXPECT_TRUE(s.converged);
  EXPECT_EQ(s.rounds, 8u);
  const auto m = MedianConfidence(PairRatios(s, pair), 0.95);
  ASSERT_TRUE(m.has_value());
  EXPECT_DOUBLE_EQ(m->median, 2.0);
  EXPECT_DOUBLE_EQ(m->HalfWidth(), 0.0);
  // The same times unpaired (each unit's own median) spread far beyond 5%.
  EXPECT_FALSE(IntervalsNarrow(StopIntervals(s, {}, 0.95), 0.05));
  // With min_seconds, converged rounds go on until they have lasted that long (each round
  // takes 300-600 us of fake time here), never past the budget.
  rule.min_seconds = 0.05;
  const PairedSamples t = SamplePaired(f.fns, {&pair, 1}, rule, f.Now());
  EXPECT_TRUE(t.converged);
  EXPECT_GE(t.seconds, 0.05);
  EXPECT_LT(t.seconds, 0.06);
  rule.budget_s = 0.01;  // min_seconds is capped by the budget
  const PairedSamples u = SamplePaired(f.fns, {&pair, 1}, rule, f.Now());
  EXPECT_GE(u.seconds, 0.01);
  EXPECT_LT(u.seconds, 0.02);
}

// Independent noise of +-50% per sample: the ratio interval narrows as 1/sqrt(rounds), so
// sampling goes on past the floor until the half-width is <= 5% (converged, well before the
// generous budget), and with a tight budget it stops at the budget instead, not converged.
TEST(SamplingTest, StopsWhenNarrowOrWhenTheBudgetIsSpent) {
  std::mt19937_64 rng(9);
  std::uniform_real_distribution<double> noise(0.5, 1.5);
  FakeUnits f(2, [&](size_t u) { return (u == 0 ? 300.0 : 100.0) * noise(rng); });
  const SpeedupPair pair{1, 0};
  SamplingRule rule;
  rule.min_rounds = 6;
  rule.budget_s = 1000;
  rule.min_seconds = 0;
  const PairedSamples s = SamplePaired(f.fns, {&pair, 1}, rule, f.Now());
  EXPECT_TRUE(s.converged);
  EXPECT_GT(s.rounds, 30u);  // +-50% noise cannot give a 5% interval from a handful of pairs
  const auto m = MedianConfidence(PairRatios(s, pair), 0.95);
  ASSERT_TRUE(m.has_value());
  EXPECT_LE(m->HalfWidth(), 0.05 * m->median);
  EXPECT_NEAR(m->median, 3.0, 0.3);

  FakeUnits g(2, [&](size_t u) { return (u == 0 ? 300.0 : 100.0) * noise(rng); });
  rule.budget_s = 0.004;  // 10 rounds of 400 us
  const PairedSamples b = SamplePaired(g.fns, {&pair, 1}, rule, g.Now());
  EXPECT_FALSE(b.converged);
  EXPECT_GE(b.seconds, rule.budget_s);
  EXPECT_LT(b.rounds, 30u);
  EXPECT_GE(b.rounds, rule.min_rounds);
}

TEST(SamplingTest, BadRulesAreOneLineErrors) {
  FakeUnits f(1, [](size_t) { return 1.0; });
  SamplingRule rule;
  rule.budget_s = 0;
  EXPECT_THROW(SamplePaired(f.fns, {}, rule, f.Now()), Error);
  rule.budget_s = 1;
  rule.ci_width = 1;
  EXPECT_THROW(SamplePaired(f.fns, {}, rule, f.Now()), Error);
  rule.ci_width = 0;
  EXPECT_THROW(CheckSamplingRule(rule), Error);
  rule.ci_width = 0.05;
  rule.min_rounds = 0;
  EXPECT_THROW(CheckSamplingRule(rule), Error);
}

}  // namespace
}  // namespace hsr::sim
