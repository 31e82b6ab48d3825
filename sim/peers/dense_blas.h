// dense-blas: an optional peer backend (built only when OpenBLAS' CBLAS is found, sim/
// CMakeLists.txt) for side-by-side timing against dense-hwy: dense-hwy decode should be no
// slower than a BLAS sgemv decode, and prefill is compared with an sgemm-based one. Same semantics
// as dense-ref (params.h, docs/design.md §1) in float32:
//
//   per head and block of query rows: S = scale * Q_blk K^T (cblas_sgemv for one row,
//   cblas_sgemm otherwise; causal blocks only over their visible key prefix), softmax or
//   ReLU^alpha weights relative to the row maximum in a plain loop, O = P V (sgemv/sgemm),
//   then normalised. Threads are OpenBLAS' own (openblas_set_num_threads); heads and blocks
//   run sequentially.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/attention/backend.h"

namespace hsr {

class DenseBlasBackend final : public AttentionBackend {
 public:
  // threads >= 1: OpenBLAS threads used by each call.
  explicit DenseBlasBackend(size_t threads = 1);

  std::string_view Name() const override { return "dense-blas"; }
  bool Supports(const AttentionShape&) const override { return true; }
  std::vector<std::span<const std::byte>> Buffers() const override { return {}; }  // none kept

  void Decode(ConstHeadsView q, const KvCache& kv, const AttentionParams& p, HeadsView out,
              AttentionStats* stats) override;
  void Prefill(ConstHeadsView q, const KvCache& kv, const AttentionParams& p, HeadsView out,
               AttentionStats* stats) override;

 private:
  void Run(std::string_view where, ConstHeadsView q, const KvCache& kv, const AttentionParams& p,
           HeadsView out, AttentionStats* stats);
  size_t threads_;
};

// OpenBLAS' core name (e.g. "Haswell", "Zen"), or "unknown".
std::string DenseBlasCoreName();

}  // namespace hsr
