// hsr-cuda: exact HSR decode for ReLU^alpha on an NVIDIA GPU behind AttentionBackend
// (registered in sim/bench/backends.cc under HSR_WITH_CUDA): filter R(q, b) = { j : s_j > b } by a
// scan of K on the device, compact, then accumulate over the reported keys only (V is read
// for reported keys alone). K/V stored as f32 ("hsr-cuda"), f16 ("hsr-cuda-f16") or bf16
// ("hsr-cuda-bf16"), float32 accumulation. Thresholds come from AttentionParams (b or
// b_per_query); `hsr bench` resolves a --threshold policy into b_per_query for every backend.
//
// Filters: kScan ("hsr-cuda*") scores every key (reads all of K); kSketch ("hsr-cuda-sketch*")
// runs the certified int8 sketch8 filter (sketch_decode.h, sketch_kv.h: d_pad + 8 bytes per key)
// and rechecks its candidates with the scan's own score, so both report the SAME set.
// Not here yet (one-line errors, never a silent fallback): softmax-HSR (needs the certificate),
// the causal mask over several query rows (Decode or Prefill with params.causal and m > 1; with
// m = 1 the mask hides nothing, and non-causal Prefill is Decode).
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
class SketchKv;

enum class HsrFilter { kScan, kSketch };

class HsrCudaBackend final : public AttentionBackend {
 public:
  explicit HsrCudaBackend(KvDtype dtype = KvDtype::kF32, HsrFilter filter = HsrFilter::kScan);
  ~HsrCudaBackend() override;

  // "hsr-cuda", "hsr-cuda-f16", "hsr-cuda-bf16"; "hsr-cuda-sketch", "hsr-cuda-sketch-f16", ...
  static std::string NameFor(KvDtype dtype, HsrFilter filter = HsrFilter::kScan);

  std::string_view Name() const override { return name_; }
  // ReLU, not causal unless m <= 1, d <= kMaxHeadDim, dv <= kMaxValueDim.
  bool Supports(const AttentionShape& shape) const override;
  // K/V and every other buffer a call reads live in device memory, which host cache flushes do
  // not reach: nothing to list (a cold benchmark sample is cold on the host side only).
  std::vector<std::span<const std::byte>> Buffers() const override { return {}; }
  void Decode(ConstHeadsView q, const KvCache& kv, const AttentionParams& p, HeadsView out,
              AttentionStats* stats) override;
  void Prefill(ConstHeadsView q, const KvCache& kv, const AttentionParams& p, HeadsView out,
               AttentionStats* stats) override;

  // Upload (and for kSketch the sketch build for score scale `scale`, 0: the default
  // 1 / sqrt(d)) time in us, 0 when cached.
  double Prepare(const KvCache& kv, float scale = 0.0f);
  void ReleaseCache();

  KvDtype dtype() const { return dtype_; }
  HsrFilter filter() const { return filter_; }
  const std::string& device_name() const;
  size_t sm_count() const;
  // Of the last Decode: reported keys per row (h * m + i), the key and candidate splits.
  const std::vector<uint32_t>& last_reported() const { return last_reported_; }
  const DecodePlan& last_plan() const { return last_plan_; }
  size_t last_candidate_splits() const { return last_candidate_splits_; }
  // kSketch: candidates per row of the last Decode (keys rechecked exactly); kScan: n per row.
  const std::vector<uint32_t>& last_candidates() const { return last_candidates_; }
  // The last Decode's report of row h * m + i as (key id, float32 score on the device), in
  // list order (not sorted). Downloads from the device.
  std::vector<std::pair<uint32_t, float>> LastReport(size_t row) const;

 private:
  // kSketch: the filter + recheck into counts_ / ids_ / scores_ (the scan filter's format).
  void SketchFilter(const std::string& where, ConstHeadsView q, const KvCache& kv,
                    const AttentionParams& p, const DecodePlan& plan, float scale);
  const SketchKv& Sketch(const std::string& where, const KvCache& kv, float scale);

  KvDtype dtype_;
  HsrFilter filter_;
  std::string name_;
  std::unique_ptr<CudaSession> session_;
  DeviceBuffer counts_, ids_, scores_, part_acc_, part_ml_, out_, empty_;
  DeviceBuffer cand_, cand_counts_, sketch_q_, sketch_params_;
  std::vector<std::unique_ptr<SketchKv>> sketches_;
  size_t capacity_ = 0;
  std::vector<uint32_t> last_reported_, last_candidates_;
  DecodePlan last_plan_;
  size_t last_candidate_splits_ = 0;
};

}  // namespace hsr::gpu
