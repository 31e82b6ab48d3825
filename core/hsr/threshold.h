// Threshold policies (docs/design.md §1), one name each, accepted everywhere a threshold is:
//
//   b=VALUE   fixed threshold on the scaled score
//   paper     b = mu + sigma * sqrt(0.4 ln n_visible), mu / sigma of the query's scaled scores
//             estimated from a seeded sample of its visible keys
//   count=K   per-query b so that about K of the visible keys score above it
//   frac=F    per-query b so that about F * n_visible keys score above it, F in (0, 1]
//   err=E     softmax: start at `paper`, lower tau until the certificate eps <= E (the engine
//             does the lowering, decode_engine.h); E in (0, 1)
//
// The sample: `sample` distinct key ids of [0, n_visible), a reservoir (Algorithm R) over the
// keys in order, its draws a pure function of `seed` and the key (threshold.cc): the same ids
// for every query with the same n_visible, and appending a key changes at most one id (with
// probability sample / n_visible), so a decode engine keeps its sample, and a copy of its rows,
// across appends (AdvanceSampleIds). All visible keys when n_visible <= sample (then count= /
// frac= are exact up to ties). Quantiles beyond the sample's resolution (fewer than 8 sample
// keys above) use the Gaussian tail mu + sigma Phi^-1(1 - p).
// Test: verify/tests/hsr_props.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hsr {

struct ThresholdPolicy {
  enum class Kind { kFixed, kPaper, kCount, kFrac, kErr };
  Kind kind = Kind::kPaper;
  double value = 0.0;    // b (kFixed), K (kCount), F (kFrac), E (kErr); unused for kPaper
  uint64_t seed = 1;     // sample seed
  size_t sample = 1024;  // sample size (>= 2)

  bool NeedsSample() const { return kind != Kind::kFixed; }
  // "b=0.5", "paper", "count=64", "frac=0.01", "err=0.001".
  std::string ToString() const;
};

// Parses a policy string; throws hsr::Error
// "threshold: expected b=VALUE|paper|count=K|frac=F|err=E, got 'x'" on anything else, and
// one-line range errors: b not finite, K not an integer >= 1, F outside (0, 1], E outside (0, 1).
ThresholdPolicy ParseThreshold(std::string_view text);

// Throws hsr::Error when the policy cannot apply to n keys (count=K with K > n).
void CheckThresholdFor(const ThresholdPolicy& policy, size_t n);

// Sample key ids in [0, visible): all of them in order when visible <= policy.sample, else
// policy.sample distinct ids: the reservoir after keys 0 .. visible - 1 (header comment).
// O(visible) draws (~2.9 ns each on Zen 3: 3.0 ms at 2^20 keys); callers that grow their range
// advance instead.
std::vector<uint32_t> ThresholdSampleIds(const ThresholdPolicy& policy, size_t visible);

// ids: ThresholdSampleIds(policy, from) on entry, ThresholdSampleIds(policy, to) on return
// (from <= to), in O(to - from). replaced (may be null): the slots written, in order (a slot may
// repeat), appended. Throws hsr::Error when ids does not hold from's sample size or to < from.
void AdvanceSampleIds(const ThresholdPolicy& policy, size_t from, size_t to,
                      std::vector<uint32_t>* ids, std::vector<uint32_t>* replaced);

// The key range [0, SampleRange) row i (of m, among n keys) draws its sample from: its own
// visible keys, except in a causal prefill, where rows share their sample in blocks of
// kSampleRows rows once the block's first row sees more than policy.sample keys: then the
// sample comes from the keys that first row sees (all visible to row i as well), so the prefill
// engine scores one sample per block with a batched kernel. Every path (engines,
// ResolveThresholds) uses this rule, so they agree bit for bit.
inline constexpr size_t kSampleRows = 128;
size_t SampleRange(const ThresholdPolicy& policy, bool causal, size_t i, size_t m, size_t n);

// One query's threshold from its sampled scaled scores (sample_scores from ThresholdSampleIds).
struct ThresholdEstimate {
  float b = 0.0f;       // threshold to use (kErr: the starting tau, `paper`'s value)
  double mu = 0.0;      // sample mean of the scaled scores
  double sigma = 0.0;   // sample standard deviation
  size_t sample = 0;    // sample size used
};
ThresholdEstimate EstimateThreshold(const ThresholdPolicy& policy,
                                    std::span<const float> sample_scores, size_t visible);

// Phi^-1(p) for p in (0, 1) (standard normal quantile).
double NormalQuantile(double p);

// The `paper` threshold from a query's score mean and standard deviation over `visible` keys:
// mu + sigma sqrt(0.4 ln max(visible, 1)). EstimateThreshold applies it to its sample's
// estimates; `hsr inspect` to the exact moments over every visible key.
double PaperThreshold(double mu, double sigma, size_t visible);

}  // namespace hsr
