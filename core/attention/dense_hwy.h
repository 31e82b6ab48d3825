// dense-hwy: dense attention with Highway SIMD kernels and dynamic dispatch; the same
// semantics as dense-ref (params.h, docs/design.md §1) in float32 with online (max-relative)
// softmax and ReLU^alpha weights, so no valid input gives NaN/Inf.
//
//   Decode / few query rows per kv head: split-K flash-decoding over the shared score kernel
//     (score-inl.h); tasks = kv heads x row groups x key splits, partials merged stably.
//   Many query rows per kv head (prefill, batched decode, GQA groups): query-in-lanes tiles,
//     S^T = K_tile Q^T and O^T += V_tile^T P with register blocking; causal tiles skipped.
// Reference: dense_ref.h. Test: dense_hwy_test.cc (every compiled target vs dense-ref).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "core/attention/backend.h"
#include "core/base/thread_pool.h"

namespace hsr {

// stream_bytes: when a call's K plus V exceed this many bytes the decode rows kernel scores
// keys in row order (the prefetch-friendly order; see score_block-inl.h) for the first row
// that reads each key chunk (later rows of a GQA group find it in L2), else in the order with
// more independent FMA chains. Both orders give bit-identical scores. The default, 0, is the
// row order for every call: on Zen 4 it is 1.3-2.5x faster when K comes from DRAM, whatever
// the call's size (a decode's K/V were last read a whole forward pass ago), and no slower in
// cache (README, dense decode). kDenseHwyInterleaved, which no call exceeds, keeps the other
// order (tests pass it and 0 to compare the two).
inline constexpr size_t kDenseHwyInterleaved = ~size_t{0};

// Validated attention (validate.h) on `pool`'s threads: q [Hq, m, d], kv [Hkv, n, d|dv],
// out [Hq, m, dv], causal from p. Dispatches the SIMD target once,
// in the calling thread. stats (may be null) are incremented.
void DenseHwyAttention(std::string_view where, ConstHeadsView q, const KvCache& kv,
                       const AttentionParams& p, HeadsView out, ThreadPool& pool,
                       AttentionStats* stats, size_t stream_bytes = 0);

// The same on inputs the caller has already validated at its own API boundary (the HSR engine's
// dense fallback rows, over a key prefix of a validated cache): K and V as plain views (a
// KvCache would scan them for non-finite values again).
void DenseHwyAttentionValidated(ConstHeadsView q, ConstHeadsView k, ConstHeadsView v,
                                const AttentionParams& p, HeadsView out, ThreadPool& pool,
                                AttentionStats* stats, size_t stream_bytes = 0);

// Name of the Highway target dispatch picks now (e.g. "AVX3_ZEN4"; respects
// hwy::SetSupportedTargetsForTest).
std::string DenseHwyTargetName();

class DenseHwyBackend final : public AttentionBackend {
 public:
  // threads >= 1; 0 means all hardware threads. One call at a time per backend object.
  // stream_bytes: see kDenseHwyInterleaved.
  explicit DenseHwyBackend(size_t threads = 1, size_t stream_bytes = 0);
  ~DenseHwyBackend() override;

  std::string_view Name() const override { return "dense-hwy"; }
  bool Supports(const AttentionShape&) const override { return true; }
  size_t NumThreads() const { return pool_->NumThreads(); }
  // Reads only the call's q and kv: nothing kept between calls.
  std::vector<std::span<const std::byte>> Buffers() const override { return {}; }

  void Decode(ConstHeadsView q, const KvCache& kv, const AttentionParams& p, HeadsView out,
              AttentionStats* stats) override;
  void Prefill(ConstHeadsView q, const KvCache& kv, const AttentionParams& p, HeadsView out,
               AttentionStats* stats) override;

 private:
  std::unique_ptr<ThreadPool> pool_;
  size_t stream_bytes_;
};

}  // namespace hsr
