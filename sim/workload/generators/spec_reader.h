// Typed access to a WorkloadSpec's keys with one-line "expected ..., got ..." errors, plus the
// shape keys every synthetic kind shares (n, m, d, dv, heads, kv_heads, seed) and a counter-based
// hash for per-row choices. Used by workload.cc and sim/workload/generators/*.cc only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/workload/workload.h"

namespace hsr::sim {

class SpecReader {
 public:
  explicit SpecReader(const WorkloadSpec& spec) : spec_(spec) {}

  // Whole-string unsigned integer >= min (default def when absent).
  uint64_t Size(std::string_view key, uint64_t def, uint64_t min);
  // Finite real in [min, max] (default def when absent).
  double Real(std::string_view key, double def, double min, double max);
  // Any non-empty string (nullopt when absent).
  std::optional<std::string> Text(std::string_view key);
  bool Has(std::string_view key) const { return spec_.Has(key); }
  // Every key must have been asked for.
  void CheckNoUnknownKeys() const;
  const std::string& kind() const { return spec_.kind; }

 private:
  const WorkloadSpec& spec_;
  std::vector<std::string> allowed_;
};

// Shape keys of the synthetic kinds. Q [heads, m, d], K [kv_heads, n, d], V [kv_heads, n, dv].
struct SyntheticShape {
  uint64_t n = 0, m = 0, d = 0, dv = 0, heads = 0, kv_heads = 0, seed = 0;

  // Reads n (65536), m (1), d (128), dv (d), heads (1), kv_heads (heads), seed (1).
  void Read(SpecReader& r);
  // heads % kv_heads == 0 and Q, K, V fit in 1 TiB; errors name `kind`.
  void Check(std::string_view kind) const;
  // "kind:n=..,m=..,d=..,dv=..,heads=..,kv_heads=..,seed=.."
  std::string Describe(std::string_view kind) const;
  // A Workload with these sizes, tensors allocated (not filled), description and seed set.
  Workload Allocate(std::string description) const;
};

// Counter-based 64-bit hash (SplitMix64 finaliser): a pure function of its inputs.
uint64_t Mix64(uint64_t x);
inline uint64_t HashOf(uint64_t seed, uint64_t stream, uint64_t i) {
  return Mix64(Mix64(seed ^ Mix64(stream + 0x632BE59BD9B4E019ull)) + i);
}
// Uniform double in [0, 1) from a hash.
inline double Uniform01(uint64_t h) { return static_cast<double>(h >> 11) * 0x1p-53; }

}  // namespace hsr::sim
