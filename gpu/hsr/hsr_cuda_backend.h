// hsr-cuda: exact HSR decode for ReLU^alpha on an NVIDIA GPU behind AttentionBackend
// (registered in sim/backends.cc under HSR_WITH_CUDA): filter R(q, b) = { j : s_j > b } by a
// scan of K on the device, compact, then accumulate over the reported keys only (V is read
// for reported keys alone). K/V stored as f32 ("hsr-cuda"), f16 ("hsr-cuda-f16") or bf16
// ("hsr-cuda-bf16"), float32 accumulation. Thresholds come from AttentionParams (b or
// b_per_query); `hsr bench` resolves a --threshold policy into b_per_query for every backend.
//
// Not here yet (one-line errors, never a silent fallback): softmax-HSR (needs the certificate),
// causal Prefill (non-causal Prefill is Decode), and the certified sketch8 filter stage (the
// filter reads all of K).
// Sets: a key's GPU score differs from the CPU scan's (ScoreRun) only by float summation order,
// so the reported set equals the CPU's except for keys whose float64 score lies within that
// rounding bound of b (gpu/tests/hsr_cuda_test.cc checks exactly that).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/attention/backend.h"
#include "gpu/attention/decode_plan.h"
#include "gpu/base/device_buffer.h"
#include "gpu/base/kv_dtype.h"

namespace hsr::gpu {

class CudaSession;

class HsrCudaBackend final : public AttentionBackend {
 public:
  explicit HsrCudaBackend(KvDtype dtype = KvDtype::kF32);
  ~HsrCudaBackend() override;

  static std::string NameFor(KvDtype dtype);  // "hsr-cuda", "hsr-cuda-f16", "hsr-cuda-bf16"

  std::string_view Name() const override { return name_; }
  // ReLU, not causal, d <= kMaxHeadDim, dv <= kMaxValueDim.
  bool Supports(const AttentionShape& shape) const override;
  void Decode(ConstHeadsView q, const KvCache& kv, const AttentionParams& p, HeadsView out,
              AttentionStats* stats) override;
  void Prefill(ConstHeadsView q, const KvCache& kv, const AttentionParams& p, HeadsView out,
               AttentionStats* stats) override;

  double Prepare(const KvCache& kv);  // upload time in us (0 when cached)
  void ReleaseCache();

  KvDtype dtype() const { return dtype_; }
  const std::string& device_name() const;
  size_t sm_count() const;
  // Of the last Decode: reported keys per row (h * m + i), the key and candidate splits.
  const std::vector<uint32_t>& last_reported() const { return last_reported_; }
  const DecodePlan& last_plan() const { return last_plan_; }
  size_t last_candidate_splits() const { return last_candidate_splits_; }
  // The last Decode's report of row h * m + i as (key id, float32 score on the device), in
  // list order (not sorted). Downloads from the device.
  std::vector<std::pair<uint32_t, float>> LastReport(size_t row) const;

 private:
  KvDtype dtype_;
  std::string name_;
  std::unique_ptr<CudaSession> session_;
  DeviceBuffer counts_, ids_, scores_, part_acc_, part_ml_, out_, empty_;
  size_t capacity_ = 0;
  std::vector<uint32_t> last_reported_;
  DecodePlan last_plan_;
  size_t last_candidate_splits_ = 0;
};

}  // namespace hsr::gpu
