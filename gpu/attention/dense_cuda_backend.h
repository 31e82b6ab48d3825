// dense-cuda: dense attention on an NVIDIA GPU behind the AttentionBackend interface
// (registered in sim/bench/backends.cc under HSR_WITH_CUDA). Same semantics as dense-ref
// (params.h, docs/design.md §1), float32 accumulation, K/V stored on the device as float32
// ("dense-cuda"), float16 ("dense-cuda-f16") or bfloat16 ("dense-cuda-bf16").
//
//   Decode:  split-K flash decoding, GQA rows of one kv head batched per block
//            (dense_decode.cu, decode_plan.h).
//   Prefill: the same kernels on CUDA cores; correct, not a tensor-core flash-attention prefill.
//   Both apply the causal limit per row (bottom-right aligned) when params.causal.
//
// K/V are uploaded once per KvCache (Prepare, or on the first call) and cached, keyed by the
// data pointers, shapes and strides: as for hsr-cpu, the KvCache data must outlive the backend
// and stay unchanged. Each call uploads q (and thresholds), runs, and downloads out
// synchronously; its wall time includes those copies and the launch.
//
// Construction throws hsr::Error "dense-cuda: no CUDA device (...)" when no device is usable:
// never a silent CPU fallback.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <tuple>

#include "core/attention/backend.h"
#include "gpu/attention/decode_plan.h"
#include "gpu/base/device_buffer.h"
#include "gpu/base/kv_dtype.h"

namespace hsr::gpu {

class CudaSession;

class DenseCudaBackend final : public AttentionBackend {
 public:
  explicit DenseCudaBackend(KvDtype dtype = KvDtype::kF32);
  ~DenseCudaBackend() override;

  // "dense-cuda", "dense-cuda-f16", "dense-cuda-bf16".
  static std::string NameFor(KvDtype dtype);

  std::string_view Name() const override { return name_; }
  bool Supports(const AttentionShape& shape) const override;
  // K/V and every other buffer a call reads live in device memory, which host cache flushes do
  // not reach: nothing to list (a cold benchmark sample is cold on the host side only).
  std::vector<std::span<const std::byte>> Buffers() const override { return {}; }
  void Decode(ConstHeadsView q, const KvCache& kv, const AttentionParams& p, HeadsView out,
              AttentionStats* stats) override;
  void Prefill(ConstHeadsView q, const KvCache& kv, const AttentionParams& p, HeadsView out,
               AttentionStats* stats) override;

  // Uploads kv (if not cached yet); returns the upload time in microseconds (0 when cached).
  double Prepare(const KvCache& kv);
  // Frees every cached K/V copy.
  void ReleaseCache();

  KvDtype dtype() const { return dtype_; }
  const std::string& device_name() const;
  size_t sm_count() const;
  const DecodePlan& last_plan() const { return last_plan_; }

 private:
  void Run(const char* where, ConstHeadsView q, const KvCache& kv, const AttentionParams& p,
           HeadsView out, AttentionStats* stats);

  KvDtype dtype_;
  std::string name_;
  std::unique_ptr<CudaSession> session_;
  std::map<std::tuple<size_t, size_t>, size_t> occupancy_;  // (values_per_lane, dk_pad)
  DeviceBuffer part_acc_, part_ml_, out_, empty_;
  DecodePlan last_plan_;
};

}  // namespace hsr::gpu
