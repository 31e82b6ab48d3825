// Workload sources (docs/style.md §2): generators and recorded-tensor loaders behind one interface.
//
// A SPEC is "KIND:key=value,key=value,..." (docs/design.md §4), e.g.
// "gaussian:n=65536,d=128,seed=1". Kinds: gaussian, clustered, lowrank, planted, sinks
// (sim/workload/generators/*.cc, each documents its construction and keys) and the recorded kinds
// npy:DIR, npz:FILE, safetensors:FILE, whose first item is a path (stored as key "path"); see
// sim/workload/generators/recorded.cc. ParseWorkloadSpec splits it into a WorkloadSpec;
// command-line flags override keys with Set(); MakeWorkloadSource checks the kind and every key and
// returns a WorkloadSource whose Describe() is the canonical spec (all keys spelled out), copied
// into every result row.
//
// A new kind is one more entry in the kind table in workload.cc; the CLI and the bench loop do
// not change.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/tensor/tensor.h"

namespace hsr::sim {

// One attention problem: Q [q_heads, m, d], K [kv_heads, n, d], V [kv_heads, n, dv],
// row-major float32. q_heads % kv_heads == 0 (GQA group = q_heads / kv_heads).
struct Workload {
  Tensor q, k, v;
  size_t q_heads = 1, kv_heads = 1, n = 0, m = 1, d = 0, dv = 0;
  std::string description;  // canonical spec, e.g. "gaussian:n=256,m=1,d=16,...,seed=1"
  uint64_t seed = 0;
  float scale = 0.0f;   // score scale the data was made for; 0: the default 1/sqrt(d)
  bool causal = false;  // recorded prefill data: query i sees keys j <= i + (n - m)
  bool recorded = false;  // loaded from a model's tensors (npy, npz, safetensors)
};

class WorkloadSource {
 public:
  virtual ~WorkloadSource() = default;
  // Canonical spec with every key, e.g. "gaussian:n=65536,m=1,d=128,dv=128,heads=1,...".
  virtual std::string Describe() const = 0;
  // Generates (or loads) the tensors. Deterministic: the same spec gives the same bytes.
  virtual Workload Make() const = 0;
};

// A parsed but not yet checked spec: kind plus ordered key/value strings.
class WorkloadSpec {
 public:
  std::string kind;
  std::vector<std::pair<std::string, std::string>> keys;

  bool Has(std::string_view key) const;
  std::optional<std::string> Get(std::string_view key) const;
  // Sets or replaces a key (command-line flags override spec keys this way).
  void Set(std::string_view key, std::string value);
  // "kind:k=v,k=v" (a `path` key is written as its bare value), as ParseWorkloadSpec reads it.
  std::string ToString() const;
};

// Splits "kind:k=v,k=v" (a bare "kind" is allowed). Throws hsr::Error on a malformed spec
// (empty kind, an item without '=', an empty key, a repeated key).
WorkloadSpec ParseWorkloadSpec(std::string_view spec);

// Checks kind, keys and values; throws hsr::Error naming what was expected and what was found.
std::unique_ptr<WorkloadSource> MakeWorkloadSource(const WorkloadSpec& spec);

// True for kinds whose first spec item is a path (npy, npz, safetensors).
bool IsPathKind(std::string_view kind);

// Where the path of a recorded spec (npy:, npz:, safetensors:, fitted:npy:) is read from. An
// absolute path is used as it is. A relative one (e.g. sim/workload/data/tinylm-code-2k-f16, the
// recordings shipped in the repository) is looked up, first match wins, relative to
//   1. the current directory,
//   2. the source tree hsr was built from (its path compiled in), when it still exists,
//   3. the install prefix's share/hsr (the executable's ../share/hsr; `cmake --install` puts
//      sim/workload/data there).
// The spec keeps the relative spelling, so descriptions, point ids and grids are the same in
// every checkout. Throws hsr::Error naming the path and the places looked in when none has it.
std::string ResolveWorkloadPath(const std::string& path, std::string_view what);

// Kinds MakeWorkloadSource accepts, e.g. {"gaussian", "clustered", ...}.
std::vector<std::string> WorkloadKinds();

// Fills out with iid N(0, 1) floats (sim/workload/gaussian.cc, Highway): element i is a pure
// function of (seed, stream, i) (murmur3-finaliser counter + Box-Muller), so the thread count does
// not change the data and a longer tensor extends a shorter one with the same (seed, stream).
// threads == 0: all hardware threads.
void FillGaussian(uint64_t seed, uint64_t stream, std::span<float> out, size_t threads = 0);

}  // namespace hsr::sim
