// AttentionBackend: one interface for the paper's two scenarios.
//
//   Decode:  q [Hq, m, d] against the cache kv [Hkv, n, d]: m = 1 is single-token decoding,
//            m > 1 batched decoding (e.g. speculative or multi-token steps).
//   Prefill: q [Hq, m, d] against kv [Hkv, n, d], the prompt's rows.
// Both apply the causal mask when params.causal, bottom-right aligned (query row i of m sees
// keys j <= i + n - m, params.h), so with the mask Decode and Prefill compute the same output;
// without it every query sees all n keys. With m = 1 the mask hides nothing. A backend that
// cannot apply the mask throws hsr::Error (Supports says false); none ignores it.
// out is [Hq, m, dv]. Both validate their inputs (validate.h) before any work and throw
// hsr::Error; stats (may be null) are incremented, never reset.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "core/attention/kv_cache.h"
#include "core/attention/params.h"
#include "core/tensor/view.h"

namespace hsr {

struct AttentionShape {
  size_t q_heads = 1, kv_heads = 1, m = 1, n = 0, d = 0, dv = 0;
  AttentionKind kind = AttentionKind::kSoftmax;
  bool causal = false;
};

class AttentionBackend {
 public:
  virtual ~AttentionBackend() = default;
  virtual std::string_view Name() const = 0;
  // Cheap and never throws.
  virtual bool Supports(const AttentionShape& shape) const = 0;
  virtual void Decode(ConstHeadsView q, const KvCache& kv, const AttentionParams& p,
                      HeadsView out, AttentionStats* stats) = 0;
  virtual void Prefill(ConstHeadsView q, const KvCache& kv, const AttentionParams& p,
                       HeadsView out, AttentionStats* stats) = 0;
  // Host memory the backend keeps between calls and reads in them (index codes, bounds, norms,
  // its own copies of keys), besides the call's q, kv and out: what a benchmark evicts from the
  // CPU caches, with the caller's K/V, to time a cold call (sim/bench/bench.h). Valid until the
  // next call. Device memory (GPU backends) is not listed: host cache flushes cannot reach it.
  virtual std::vector<std::span<const std::byte>> Buffers() const = 0;
};

}  // namespace hsr
