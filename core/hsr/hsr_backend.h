// hsr-cpu: the HSR engines as an AttentionBackend (registered in sim/backends.cc).
//
// Decode: an exact half-space index per kv head is built once per KvCache (Prepare, or lazily
// on the first Decode) and cached, keyed by the cache's K/V data pointers, shapes and the score
// scale; the KvCache data must outlive the backend and stay unchanged (KvCache's own contract).
// Benchmarks call Prepare for every K/V copy before timing, so index building is outside the
// timed decode; Prefill builds its indexes inside the call (HsrPrefill; build time included).
// Threshold: SetThreshold's policy, else AttentionParams (b_per_query or b) for ReLU and
// `paper` for softmax; see decode_engine.h. Per-row facts of the last call: LastStats().
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>

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

  // Drops cached engines when the index or policy changes.
  void SetIndex(const std::string& index);
  void SetThreshold(std::optional<ThresholdPolicy> policy);
  // Builds (or finds) the decode engine of kv for this scale; returns its build time in us.
  double Prepare(const KvCache& kv, float scale);
  const HsrCallStats& LastStats() const { return last_; }
  const std::string& index_name() const { return options_.index; }

 private:
  using Key = std::tuple<const float*, const float*, size_t, size_t, size_t, size_t, float>;
  DecodeEngine& EngineFor(const KvCache& kv, float scale);

  HsrOptions options_;
  std::map<Key, std::unique_ptr<DecodeEngine>> engines_;
  HsrCallStats last_;
};

}  // namespace hsr
