// dense-ref: plain loops with float64 accumulation. The semantic reference (params.h) and the
// oracle that verify/ compares every fast path against. Single-threaded and slow on purpose.
// Its Highway counterpart is dense_hwy.h; the comparison lives in verify/tests/.
#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "core/attention/backend.h"

namespace hsr {

// One query row in float64: o[0..dv) for query q (length d) against keys/values rows
// [0, visible) of one kv head. Returns the number of keys with a positive weight (the value rows
// it reads): 0 (and zeros written) for an empty row. threshold is used for relu only; scale is
// the effective scale.
size_t DenseRefRow(std::span<const float> q, ConstMatrixView k, ConstMatrixView v, size_t visible,
                 AttentionKind kind, int alpha, double threshold, double scale,
                 std::span<double> o);

// Whole attention in float64 (validated): out is Hq * m * dv doubles, [h][i][c].
// causal is taken from p.
void DenseRefAttention(ConstHeadsView q, const KvCache& kv, const AttentionParams& p,
                       std::vector<double>* out, AttentionStats* stats);

class DenseRefBackend final : public AttentionBackend {
 public:
  std::string_view Name() const override { return "dense-ref"; }
  bool Supports(const AttentionShape&) const override { return true; }
  std::vector<std::span<const std::byte>> Buffers() const override { return {}; }  // none kept
  void Decode(ConstHeadsView q, const KvCache& kv, const AttentionParams& p, HeadsView out,
              AttentionStats* stats) override;
  void Prefill(ConstHeadsView q, const KvCache& kv, const AttentionParams& p, HeadsView out,
               AttentionStats* stats) override;
};

}  // namespace hsr
