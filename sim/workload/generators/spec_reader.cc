#include "sim/workload/generators/spec_reader.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/base/error.h"

namespace hsr::sim {
namespace {

// Whole-string unsigned integer; nullopt on anything else ("1.5", "", "-1", "1e3").
std::optional<uint64_t> ParseU64(std::string_view s) {
  uint64_t v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::optional<double> ParseReal(const std::string& s) {
  if (s.empty() || std::isspace(static_cast<unsigned char>(s[0]))) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

}  // namespace

uint64_t Mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

uint64_t SpecReader::Size(std::string_view key, uint64_t def, uint64_t min) {
  allowed_.emplace_back(key);
  const auto s = spec_.Get(key);
  if (!s) return def;
  const auto v = ParseU64(*s);
  HSR_CHECK(v && *v >= min, "workload '{}': expected {}=<integer >= {}>, got {}={}", spec_.kind,
            key, min, key, *s);
  return *v;
}

double SpecReader::Real(std::string_view key, double def, double min, double max) {
  allowed_.emplace_back(key);
  const auto s = spec_.Get(key);
  if (!s) return def;
  const auto v = ParseReal(*s);
  HSR_CHECK(v && *v >= min && *v <= max,
            "workload '{}': expected {}=<number in [{}, {}]>, got {}={}", spec_.kind, key, min,
            max, key, *s);
  return *v;
}

std::optional<std::string> SpecReader::Text(std::string_view key) {
  allowed_.emplace_back(key);
  const auto s = spec_.Get(key);
  if (!s) return std::nullopt;
  HSR_CHECK(!s->empty(), "workload '{}': expected a non-empty value for {}, got {}=", spec_.kind,
            key, key);
  return s;
}

void SpecReader::CheckNoUnknownKeys() const {
  for (const auto& [k, v] : spec_.keys) {
    HSR_CHECK(std::find(allowed_.begin(), allowed_.end(), k) != allowed_.end(),
              "workload '{}': expected a key among {}, got '{}'", spec_.kind,
              fmt::join(allowed_, ", "), k);
  }
}

void SyntheticShape::Read(SpecReader& r) {
  n = r.Size("n", 65536, 1);
  m = r.Size("m", 1, 1);
  d = r.Size("d", 128, 1);
  dv = r.Size("dv", d, 1);
  heads = r.Size("heads", 1, 1);
  kv_heads = r.Size("kv_heads", heads, 1);
  seed = r.Size("seed", 1, 0);
}

void SyntheticShape::Check(std::string_view kind) const {
  HSR_CHECK(heads % kv_heads == 0,
            "workload '{}': expected heads to be a multiple of kv_heads, got heads={}, "
            "kv_heads={}", kind, heads, kv_heads);
  // Refuse sizes that cannot fit before allocating (n * d * heads overflow or > 1 TiB).
  const long double bytes = 4.0L * (static_cast<long double>(heads) * m * d +
                                    static_cast<long double>(kv_heads) * n * (d + dv));
  HSR_CHECK(bytes <= 0x1p40L, "workload '{}': expected Q, K and V to fit in 1 TiB, got {:.3g} bytes",
            kind, static_cast<double>(bytes));
}

std::string SyntheticShape::Describe(std::string_view kind) const {
  return fmt::format("{}:n={},m={},d={},dv={},heads={},kv_heads={},seed={}", kind, n, m, d, dv,
                     heads, kv_heads, seed);
}

Workload SyntheticShape::Allocate(std::string description) const {
  Workload w;
  w.q_heads = heads;
  w.kv_heads = kv_heads;
  w.n = n;
  w.m = m;
  w.d = d;
  w.dv = dv;
  w.seed = seed;
  w.description = std::move(description);
  w.q = Tensor(heads, m, d);
  w.k = Tensor(kv_heads, n, d);
  w.v = Tensor(kv_heads, n, dv);
  return w;
}

}  // namespace hsr::sim
