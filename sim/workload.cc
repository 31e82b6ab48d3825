#include "sim/workload.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/base/error.h"

namespace hsr::sim {
namespace {

// Parses a whole-string unsigned integer; nullopt on anything else ("1.5", "", "-1", "1e3").
std::optional<uint64_t> ParseU64(std::string_view s) {
  uint64_t v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// Typed access to a spec's keys with one-line errors; tracks which keys were used.
class SpecReader {
 public:
  explicit SpecReader(const WorkloadSpec& spec) : spec_(spec) {}

  uint64_t Size(std::string_view key, uint64_t def, uint64_t min) {
    allowed_.emplace_back(key);
    const auto s = spec_.Get(key);
    if (!s) return def;
    const auto v = ParseU64(*s);
    HSR_CHECK(v && *v >= min, "workload '{}': expected {}=<integer >= {}>, got {}={}", spec_.kind,
              key, min, key, *s);
    return *v;
  }

  // Every key must have been asked for.
  void CheckNoUnknownKeys() const {
    for (const auto& [k, v] : spec_.keys) {
      HSR_CHECK(std::find(allowed_.begin(), allowed_.end(), k) != allowed_.end(),
                "workload '{}': expected a key among {}, got '{}'", spec_.kind,
                fmt::join(allowed_, ", "), k);
    }
  }

 private:
  const WorkloadSpec& spec_;
  std::vector<std::string> allowed_;
};

// gaussian: Q, K, V iid N(0, 1). Streams: Q = 0, K = 1, V = 2 (K does not depend on m, Q not
// on n, so sweeping n extends the same keys).
class GaussianSource final : public WorkloadSource {
 public:
  explicit GaussianSource(const WorkloadSpec& spec) {
    SpecReader r(spec);
    n_ = r.Size("n", 65536, 1);
    m_ = r.Size("m", 1, 1);
    d_ = r.Size("d", 128, 1);
    dv_ = r.Size("dv", d_, 1);
    heads_ = r.Size("heads", 1, 1);
    kv_heads_ = r.Size("kv_heads", heads_, 1);
    seed_ = r.Size("seed", 1, 0);
    r.CheckNoUnknownKeys();
    HSR_CHECK(heads_ % kv_heads_ == 0,
              "workload 'gaussian': expected heads to be a multiple of kv_heads, got heads={}, "
              "kv_heads={}", heads_, kv_heads_);
    // Refuse sizes that cannot fit before allocating (n * d * heads overflow or > 1 TiB).
    const long double bytes = 4.0L * (static_cast<long double>(heads_) * m_ * d_ +
                                      static_cast<long double>(kv_heads_) * n_ * (d_ + dv_));
    HSR_CHECK(bytes <= 0x1p40L, "workload 'gaussian': expected Q, K and V to fit in 1 TiB, got {:.3g} bytes",
              static_cast<double>(bytes));
  }

  std::string Describe() const override {
    return fmt::format("gaussian:n={},m={},d={},dv={},heads={},kv_heads={},seed={}", n_, m_, d_,
                       dv_, heads_, kv_heads_, seed_);
  }

  Workload Make() const override {
    Workload w;
    w.q_heads = heads_;
    w.kv_heads = kv_heads_;
    w.n = n_;
    w.m = m_;
    w.d = d_;
    w.dv = dv_;
    w.seed = seed_;
    w.description = Describe();
    w.q = Tensor(heads_, m_, d_);
    w.k = Tensor(kv_heads_, n_, d_);
    w.v = Tensor(kv_heads_, n_, dv_);
    FillGaussian(seed_, 0, w.q.flat());
    FillGaussian(seed_, 1, w.k.flat());
    FillGaussian(seed_, 2, w.v.flat());
    return w;
  }

 private:
  uint64_t n_, m_, d_, dv_, heads_, kv_heads_, seed_;
};

struct KindEntry {
  const char* name;
  std::function<std::unique_ptr<WorkloadSource>(const WorkloadSpec&)> make;
};

// The one table of workload kinds. Later: clustered, planted, lowrank, npy, safetensors.
const std::vector<KindEntry>& Kinds() {
  static const std::vector<KindEntry> kinds = {
      {"gaussian",
       [](const WorkloadSpec& s) { return std::make_unique<GaussianSource>(s); }},
  };
  return kinds;
}

}  // namespace

bool WorkloadSpec::Has(std::string_view key) const { return Get(key).has_value(); }

std::optional<std::string> WorkloadSpec::Get(std::string_view key) const {
  for (const auto& [k, v] : keys) {
    if (k == key) return v;
  }
  return std::nullopt;
}

void WorkloadSpec::Set(std::string_view key, std::string value) {
  for (auto& [k, v] : keys) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  keys.emplace_back(std::string(key), std::move(value));
}

WorkloadSpec ParseWorkloadSpec(std::string_view spec) {
  WorkloadSpec out;
  const size_t colon = spec.find(':');
  out.kind = std::string(spec.substr(0, colon));
  HSR_CHECK(!out.kind.empty() && out.kind.find_first_of("=,") == std::string::npos,
            "workload: expected KIND[:key=value,...] such as 'gaussian:n=65536,d=128', got '{}'",
            spec);
  if (colon == std::string_view::npos) return out;
  std::string_view rest = spec.substr(colon + 1);
  while (true) {
    const size_t comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    const size_t eq = item.find('=');
    HSR_CHECK(eq != std::string_view::npos && eq > 0,
              "workload: expected key=value items after '{}:', got '{}' in '{}'", out.kind, item,
              spec);
    const std::string key(item.substr(0, eq));
    HSR_CHECK(!out.Has(key), "workload: expected each key once, got '{}' twice in '{}'", key, spec);
    out.keys.emplace_back(key, std::string(item.substr(eq + 1)));
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return out;
}

std::vector<std::string> WorkloadKinds() {
  std::vector<std::string> names;
  for (const auto& k : Kinds()) names.emplace_back(k.name);
  return names;
}

std::unique_ptr<WorkloadSource> MakeWorkloadSource(const WorkloadSpec& spec) {
  for (const auto& k : Kinds()) {
    if (spec.kind == k.name) return k.make(spec);
  }
  Fail("workload: expected a kind among {}, got '{}'", fmt::join(WorkloadKinds(), ", "),
       spec.kind);
}

}  // namespace hsr::sim
