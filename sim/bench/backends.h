// The one place that knows which attention backends are built (docs/style.md §1, like FAISS's
// GpuCloner.h): CPU backends always, the OpenBLAS peer when found, GPU backends under
// HSR_WITH_CUDA. It also gives the bench (bench.h) what it needs beyond AttentionBackend
// (BenchBackend), so no other file names a concrete backend or tests HSR_WITH_CUDA.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/attention/backend.h"
#include "core/attention/kv_cache.h"
#include "core/hsr/decode_engine.h"
#include "core/hsr/threshold.h"
#include "core/tensor/view.h"
#include "sim/bench/result_row.h"
#include "verify/oracle_sample.h"

namespace hsr::sim {

// Names accepted by MakeBackend, in registration order, e.g. {"dense-ref", "dense-hwy"}.
std::vector<std::string> BackendNames();

// The names whose backend can run here: BackendNames() minus GPU backends when no CUDA device
// is usable (constructing those throws "<name>: no CUDA device (...)").
std::vector<std::string> AvailableBackendNames();

// threads >= 1. Throws hsr::Error "backend: expected one of dense-ref, dense-hwy, got 'x'".
std::unique_ptr<AttentionBackend> MakeBackend(std::string_view name, size_t threads);

// Threads the backend actually uses when asked for `threads` (dense-ref is single-threaded).
size_t BackendThreads(std::string_view name, size_t threads);

// "a,b,c" -> {"a","b","c"}; each must be a known backend, no duplicates, none empty.
std::vector<std::string> ParseBackendList(std::string_view list);

// The backend a row's speedup is measured against, or "" for none: dense-hwy against
// dense-ref, every other non-reference backend against dense-hwy.
std::string SpeedupBaseline(std::string_view name);

// The default --backend list: the fastest dense CPU backend, dense-hwy.
std::string DefaultBackendList();

// Highway target the dense-hwy dispatcher picks on this CPU (e.g. "AVX3").
std::string CpuTargetName();

// What a benchmark point tells a backend before timing.
struct BenchSetup {
  bool decode = true;                       // Decode calls (else Prefill)
  float scale = 0.0f;                       // the score scale of every call
  std::string index = "sketch8";            // hsr-cpu's half-space index
  std::optional<ThresholdPolicy> threshold;  // hsr-cpu resolves it inside each call
  PrefillReport prefill_report = PrefillReport::kAuto;  // hsr-cpu prefill (decode_engine.h)
  std::function<void(const std::string&)> progress;  // may be empty
};

// The warm-up call (the one whose output is checked) as the bench saw it.
struct WarmupCall {
  const KvCache& kv;                       // the workload's K/V, the one every call read
  ConstHeadsView out;                      // its output, [Hq, m, dv]
  const verify::OracleSample& oracle;      // the float64 rows it is checked against
  bool decode = true;
  bool relu = false;
};

// A backend as `hsr bench` runs it: the AttentionBackend plus what the bench does around its
// calls. The plain form (dense CPU backends) does nothing around them; hsr-cpu builds its decode
// indexes before timing and reports its per-row facts; GPU backends upload K/V before timing and
// count bytes in their storage type against the device copy roofline. What a cold sample
// evicts besides K/V is AttentionBackend::Buffers.
class BenchBackend {
 public:
  explicit BenchBackend(std::unique_ptr<AttentionBackend> backend);
  virtual ~BenchBackend();
  AttentionBackend& attention() { return *backend_; }
  // Before timing: work outside the timed calls on the K/V every call reads. Returns note lines
  // (one each) for the bench's notes.
  virtual std::vector<std::string> Prepare(const BenchSetup& setup, const KvCache& kv);
  // The params of each timed call (hsr-cpu with a policy drops the resolved b_per_query: it
  // resolves the same values itself inside the call).
  virtual AttentionParams CallParams(const AttentionParams& params) const;
  // After timing: this backend's columns of its row (index, reported keys, bytes_read and
  // read_gbs when they are not K and V in float32 against the DRAM roofline, certificates) and
  // note lines. row arrives with the shared columns set; gbs / roofline_frac are derived after.
  virtual void Describe(const WarmupCall& call, ResultRow* row,
                        std::vector<std::string>* notes) const;

 protected:
  std::unique_ptr<AttentionBackend> backend_;
};

// MakeBackend(name, threads) wrapped for the bench.
std::unique_ptr<BenchBackend> MakeBenchBackend(std::string_view name, size_t threads);

}  // namespace hsr::sim
