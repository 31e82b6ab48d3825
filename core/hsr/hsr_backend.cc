#include "core/hsr/hsr_backend.h"

#include <utility>

#include "core/attention/validate.h"
#include "core/base/error.h"
#include "core/hsr/prefill_engine.h"

namespace hsr {

HsrCpuBackend::HsrCpuBackend(size_t threads, std::string index) {
  HSR_CHECK(threads >= 1, "hsr-cpu: expected threads >= 1, got {}", threads);
  MakeIndex(index);  // validates the name
  options_.threads = threads;
  options_.index = std::move(index);
}

HsrCpuBackend::~HsrCpuBackend() = default;

void HsrCpuBackend::SetIndex(const std::string& index) {
  MakeIndex(index);
  options_.index = index;
  engines_.clear();
}

void HsrCpuBackend::SetThreshold(std::optional<ThresholdPolicy> policy) {
  options_.threshold = std::move(policy);
  engines_.clear();
}

DecodeEngine& HsrCpuBackend::EngineFor(const KvCache& kv, float scale) {
  const auto found = engines_.find(kv.identity().get());
  if (found != engines_.end() && !found->second.cache.expired() && found->second.scale == scale) {
    return *found->second.engine;
  }
  auto engine = std::make_unique<DecodeEngine>(kv, scale, options_, /*copy=*/false);
  ++builds_;
  std::erase_if(engines_, [](const auto& e) { return e.second.cache.expired(); });
  Bound& b = engines_[kv.identity().get()];
  b.cache = kv.identity();
  b.scale = scale;
  b.engine = std::move(engine);
  return *b.engine;
}

double HsrCpuBackend::Prepare(const KvCache& kv, float scale) {
  return EngineFor(kv, scale).build_us();
}

std::vector<std::span<const std::byte>> HsrCpuBackend::Buffers() const {
  std::vector<std::span<const std::byte>> out;
  for (const auto& [key, b] : engines_) {
    if (b.cache.expired()) continue;
    for (const auto s : b.engine->Buffers()) out.push_back(s);
  }
  return out;
}

void HsrCpuBackend::Decode(ConstHeadsView q, const KvCache& kv, const AttentionParams& p,
                           HeadsView out, AttentionStats* stats) {
  ValidateAttention("hsr-cpu decode", q, kv, p, out);
  EngineFor(kv, p.ScaleFor(kv.d())).Attend(q, p, p.causal, out, &last_);
  if (stats) stats->Merge(last_.attention);
}

void HsrCpuBackend::Prefill(ConstHeadsView q, const KvCache& kv, const AttentionParams& p,
                            HeadsView out, AttentionStats* stats) {
  HsrPrefill(q, kv, p, options_, out, &last_);
  if (stats) stats->Merge(last_.attention);
}

}  // namespace hsr
