#include "core/hsr/threshold.h"

#include "core/attention/params.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>

#include <fmt/format.h>

#include "core/base/error.h"

namespace hsr {
namespace {

[[noreturn]] void BadPolicy(std::string_view text) {
  Fail("threshold: expected b=VALUE|paper|count=K|frac=F|err=E, got '{}'", text);
}

double ParseNumber(std::string_view all, std::string_view s) {
  double v = 0.0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) BadPolicy(all);
  return v;
}

uint64_t SplitMix64(uint64_t* state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Algorithm R's draw for key `key` (>= sample): a slot in [0, key]; the key replaces the id in
// that slot when the slot is below the sample size.
size_t ReservoirSlot(uint64_t seed, size_t key) {
  // Draw number `key` (from 0) of the splitmix64 stream from seed, a pure function of both,
  // mapped to [0, key] by the high half of its product with key + 1: each slot's probability is
  // off 1 / (key + 1) by at most 2^-64 (below 2^-32 relative for any 32-bit key).
  uint64_t state = seed + 0x9E3779B97F4A7C15ull * static_cast<uint64_t>(key);
  const uint64_t z = SplitMix64(&state);
  return static_cast<size_t>((static_cast<unsigned __int128>(z) * (key + 1)) >> 64);
}

}  // namespace

std::string ThresholdPolicy::ToString() const {
  switch (kind) {
    case Kind::kFixed: return fmt::format("b={}", value);
    case Kind::kPaper: return "paper";
    case Kind::kCount: return fmt::format("count={}", static_cast<uint64_t>(value));
    case Kind::kFrac: return fmt::format("frac={}", value);
    case Kind::kErr: return fmt::format("err={}", value);
  }
  return "?";
}

ThresholdPolicy ParseThreshold(std::string_view text) {
  ThresholdPolicy p;
  if (text == "paper") {
    p.kind = ThresholdPolicy::Kind::kPaper;
    return p;
  }
  const size_t eq = text.find('=');
  if (eq == std::string_view::npos) BadPolicy(text);
  const std::string_view key = text.substr(0, eq), val = text.substr(eq + 1);
  if (key == "b") {
    p.kind = ThresholdPolicy::Kind::kFixed;
    p.value = ParseNumber(text, val);
    HSR_CHECK(std::isfinite(p.value) && std::isfinite(static_cast<float>(p.value)),
              "threshold: expected b=VALUE with a finite float value, got '{}'", text);
  } else if (key == "count") {
    p.kind = ThresholdPolicy::Kind::kCount;
    uint64_t k = 0;
    const auto [ptr, ec] = std::from_chars(val.data(), val.data() + val.size(), k);
    HSR_CHECK(!val.empty() && ec == std::errc() && ptr == val.data() + val.size() && k >= 1,
              "threshold: expected count=K with an integer K >= 1, got '{}'", text);
    p.value = static_cast<double>(k);
  } else if (key == "frac") {
    p.kind = ThresholdPolicy::Kind::kFrac;
    p.value = ParseNumber(text, val);
    HSR_CHECK(p.value > 0.0 && p.value <= 1.0,
              "threshold: expected frac=F with F in (0, 1], got '{}'", text);
  } else if (key == "err") {
    p.kind = ThresholdPolicy::Kind::kErr;
    p.value = ParseNumber(text, val);
    HSR_CHECK(p.value > 0.0 && p.value < 1.0,
              "threshold: expected err=E with E in (0, 1), got '{}'", text);
  } else {
    BadPolicy(text);
  }
  return p;
}

void CheckThresholdFor(const ThresholdPolicy& policy, size_t n) {
  HSR_CHECK(policy.kind != ThresholdPolicy::Kind::kCount || policy.value <= static_cast<double>(n),
            "threshold: expected count=K with K <= n={}, got count={}", n,
            static_cast<uint64_t>(policy.value));
  HSR_CHECK(policy.sample >= 2, "threshold: expected a sample size >= 2, got {}", policy.sample);
}

size_t SampleRange(const ThresholdPolicy& policy, bool causal, size_t i, size_t m, size_t n) {
  const size_t visible = VisibleKeys(causal, i, m, n);
  if (!causal) return visible;
  const size_t first = VisibleKeys(causal, i - i % kSampleRows, m, n);
  return first > policy.sample ? first : visible;
}

void AdvanceSampleIds(const ThresholdPolicy& policy, size_t from, size_t to,
                      std::vector<uint32_t>* ids, std::vector<uint32_t>* replaced) {
  HSR_CHECK(from <= to && ids->size() == std::min(from, policy.sample),
            "threshold sample: expected the {} ids of {} keys advanced to >= {} keys, got {} ids "
            "advanced to {} keys", std::min(from, policy.sample), from, from, ids->size(), to);
  HSR_CHECK(to <= (size_t{1} << 32), "threshold sample: expected at most 2^32 keys, got {}", to);
  for (size_t key = from; key < to; ++key) {
    if (key < policy.sample) {
      ids->push_back(static_cast<uint32_t>(key));
      if (replaced) replaced->push_back(static_cast<uint32_t>(key));
      continue;
    }
    const size_t slot = ReservoirSlot(policy.seed, key);
    if (slot < policy.sample) {
      (*ids)[slot] = static_cast<uint32_t>(key);
      if (replaced) replaced->push_back(static_cast<uint32_t>(slot));
    }
  }
}

std::vector<uint32_t> ThresholdSampleIds(const ThresholdPolicy& policy, size_t visible) {
  std::vector<uint32_t> ids;
  ids.reserve(std::min(visible, policy.sample));
  AdvanceSampleIds(policy, 0, visible, &ids, nullptr);
  return ids;
}

double NormalQuantile(double p) {
  // Bisection on Phi(x) = erfc(-x / sqrt 2) / 2: monotone, 200 steps reach double resolution.
  double lo = -40.0, hi = 40.0;
  for (int it = 0; it < 200 && hi - lo > 1e-15; ++it) {
    const double mid = 0.5 * (lo + hi);
    if (0.5 * std::erfc(-mid / std::sqrt(2.0)) < p) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return 0.5 * (lo + hi);
}

ThresholdEstimate EstimateThreshold(const ThresholdPolicy& policy,
                                    std::span<const float> scores, size_t visible) {
  ThresholdEstimate e;
  e.sample = scores.size();
  if (policy.kind == ThresholdPolicy::Kind::kFixed) {
    e.b = static_cast<float>(policy.value);
    return e;
  }
  // Sums in four interleaved partial sums (independent add chains; one fixed order, so every
  // caller gets the same bits).
  const size_t size = scores.size(), full = size - size % 4;
  double part[4] = {0.0, 0.0, 0.0, 0.0};
  for (size_t j = 0; j < full; j += 4) {
    for (size_t l = 0; l < 4; ++l) part[l] += scores[j + l];
  }
  double sum = (part[0] + part[1]) + (part[2] + part[3]);
  for (size_t j = full; j < size; ++j) sum += scores[j];
  const double count = static_cast<double>(size);
  e.mu = scores.empty() ? 0.0 : sum / count;
  for (double& x : part) x = 0.0;
  for (size_t j = 0; j < full; j += 4) {
    for (size_t l = 0; l < 4; ++l) part[l] += (scores[j + l] - e.mu) * (scores[j + l] - e.mu);
  }
  double ss = (part[0] + part[1]) + (part[2] + part[3]);
  for (size_t j = full; j < size; ++j) ss += (scores[j] - e.mu) * (scores[j] - e.mu);
  e.sigma = scores.size() > 1 ? std::sqrt(ss / (count - 1.0)) : 0.0;
  switch (policy.kind) {
    case ThresholdPolicy::Kind::kPaper:
    case ThresholdPolicy::Kind::kErr:
      e.b = static_cast<float>(PaperThreshold(e.mu, e.sigma, visible));
      return e;
    default:
      break;
  }
  // count= / frac=: target number of reported keys among the visible ones.
  const double target = policy.kind == ThresholdPolicy::Kind::kCount
                            ? policy.value
                            : std::floor(policy.value * static_cast<double>(visible));
  if (scores.empty() || target >= static_cast<double>(visible)) {
    // Every visible key: below the sample's minimum by its range + 1 (finite, so ReLU weights
    // (s - b)^alpha stay finite; exact when the sample is every visible key).
    float lo = 0.0f, hi = 0.0f;
    if (!scores.empty()) {
      const auto [mn, mx] = std::minmax_element(scores.begin(), scores.end());
      lo = *mn;
      hi = *mx;
    }
    e.b = static_cast<float>(static_cast<double>(lo) - (static_cast<double>(hi) - lo) - 1.0);
    return e;
  }
  std::vector<float> sorted(scores.begin(), scores.end());
  const double p = target / static_cast<double>(visible);  // fraction wanted above b
  const bool exact = scores.size() == visible;
  if (exact || p * count >= 8.0) {
    // The (k+1)-th largest sampled score: about k sample keys lie strictly above it.
    const size_t k = std::min(scores.size() - 1, static_cast<size_t>(std::floor(p * count)));
    std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(k),
                     sorted.end(), std::greater<float>());
    e.b = sorted[k];
  } else {
    e.b = static_cast<float>(e.mu + e.sigma * NormalQuantile(1.0 - p));
  }
  return e;
}

double PaperThreshold(double mu, double sigma, size_t visible) {
  const double nv = static_cast<double>(std::max<size_t>(visible, 1));
  return mu + sigma * std::sqrt(0.4 * std::log(nv));
}

}  // namespace hsr
