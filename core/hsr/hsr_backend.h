// hsr-cpu: the HSR engines as an AttentionBackend (registered in sim/bench/backends.cc).
//
// Decode: one DecodeEngine per KvCache (an exact half-space index per kv head over the cache's
// K/V, referenced, not copied), built by Prepare or by the first Decode, and bound to the
// cache's identity (kv_cache.h), never to its address: a KvCache constructed anew, over new
// data or over reused memory with new contents at the same address and shape, gets an engine
// of its own. The rule for memory: an engine is kept while a copy of its KvCache lives; engines
// of destroyed caches are dropped by the next build (engines() <= the caches used that are
// alive, plus those destroyed since the last build), so memory follows the caches the caller
// keeps, not how many it has made. Benchmarks call Prepare before timing, so index building is
// outside the timed decode (and list Buffers() to evict the indexes for cold samples). A cache that grows by one key per
// token is a new KvCache each token: its engine replaces the old one (memory stays flat) but
// is built anew; to extend one index instead, use a DecodeSession (<hsr/hsr.h>) or
// DecodeEngine::Append. Decode answers through DecodeEngine::Attend with p.causal (the mask of
// backend.h). Prefill builds its indexes inside the call (HsrPrefill).
// Threshold: SetThreshold's policy, else AttentionParams (b_per_query or b) for ReLU and
// `paper` for softmax; see decode_engine.h. Per-row facts of the last call: LastStats().
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/attention/backend.h"
#include "core/hsr/decode_engine.h"

namespace hsr {

class HsrCpuBackend final : public AttentionBackend {
 public:
  // threads >= 1. index: a MakeIndex name (checked here).
  explicit HsrCpuBackend(size_t threads = 1, std::string index = "sketch8");
  ~HsrCpuBackend() override;

  std::string_view Name() const override { return "hsr-cpu"; }
  bool Supports(const AttentionShape&) const override { return true; }
  void Decode(ConstHeadsView q, const KvCache& kv, const AttentionParams& p, HeadsView out,
              AttentionStats* stats) override;
  void Prefill(ConstHeadsView q, const KvCache& kv, const AttentionParams& p, HeadsView out,
               AttentionStats* stats) override;

  // Drop every engine (the index or policy changes what they hold).
  void SetIndex(const std::string& index);
  void SetThreshold(std::optional<ThresholdPolicy> policy);
  // How Prefill finds each row's first report (HsrOptions::prefill_report).
  void SetPrefillReport(PrefillReport how) { options_.prefill_report = how; }
  // Builds (or finds) the decode engine of kv for this scale; returns its build time in us.
  // One engine per cache: another scale replaces it.
  double Prepare(const KvCache& kv, float scale);
  // Every live engine's buffers (DecodeEngine::Buffers): indexes, and K/V it copied.
  std::vector<std::span<const std::byte>> Buffers() const override;
  const HsrCallStats& LastStats() const { return last_; }
  const std::string& index_name() const { return options_.index; }
  size_t engines() const { return engines_.size(); }  // engines held now
  size_t builds() const { return builds_; }           // engines built so far

 private:
  struct Bound {
    std::weak_ptr<const void> cache;  // the KvCache identity the engine was built for
    float scale = 0.0f;
    std::unique_ptr<DecodeEngine> engine;
  };
  DecodeEngine& EngineFor(const KvCache& kv, float scale);

  HsrOptions options_;
  // Keyed by the identity's address, which no other live identity can have; an entry whose
  // identity has expired is never used (its address may be a new cache's).
  std::unordered_map<const void*, Bound> engines_;
  size_t builds_ = 0;
  HsrCallStats last_;
};

}  // namespace hsr
