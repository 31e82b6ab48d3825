#include "gpu/attention/cuda_session.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include <cuda_runtime.h>

#include "core/base/error.h"
#include "gpu/base/cuda_check.h"
#include "gpu/base/device.h"

namespace hsr::gpu {

CudaSession::CudaSession(std::string_view backend_name) {
  const DeviceQuery devices = QueryDevices();
  if (devices.devices.empty()) {
    std::string reason = devices.reason;  // "no CUDA device: <why>" -> "<why>"
    const std::string prefix = "no CUDA device: ";
    if (reason.rfind(prefix, 0) == 0) reason = reason.substr(prefix.size());
    Fail("{}: no CUDA device ({})", backend_name, reason);
  }
  HSR_CUDA_CHECK(cudaSetDevice(devices.devices[0].index));
  cudaDeviceProp prop{};
  HSR_CUDA_CHECK(cudaGetDeviceProperties(&prop, devices.devices[0].index));
  device_name_ = prop.name;
  sm_count_ = static_cast<size_t>(std::max(1, prop.multiProcessorCount));
}

CudaSession::Key CudaSession::KeyOf(const KvCache& kv, KvDtype t) {
  return Key(kv.k().data, kv.v().data, kv.heads(), kv.n(), kv.d(), kv.dv(), kv.k().stride,
             kv.k().head_stride, kv.v().stride, kv.v().head_stride, static_cast<int>(t));
}

bool CudaSession::Cached(const KvCache& kv, KvDtype t) const {
  return cache_.count(KeyOf(kv, t)) != 0;
}

const DeviceKv& CudaSession::Kv(std::string_view where, const KvCache& kv, KvDtype t,
                                size_t dk_pad, size_t dv_pad) {
  auto it = cache_.find(KeyOf(kv, t));
  if (it == cache_.end()) {
    it = cache_.emplace(KeyOf(kv, t), std::make_unique<DeviceKv>(where, kv, t, dk_pad, dv_pad))
             .first;
  }
  HSR_CHECK(it->second->dk_pad() == dk_pad && it->second->dv_pad() == dv_pad,
            "{}: expected cached K/V widths {}/{}, got {}/{}", where, dk_pad, dv_pad,
            it->second->dk_pad(), it->second->dv_pad());
  return *it->second;
}

void CudaSession::UploadQueries(ConstHeadsView q, const AttentionParams& p, size_t dk_pad) {
  const size_t hq = q.heads, m = q.rows, rows = hq * m;
  std::vector<float> qh(rows * dk_pad, 0.0f), bh(rows, 0.0f);
  const bool relu = p.kind == AttentionKind::kRelu;
  for (size_t h = 0; h < hq; ++h) {
    for (size_t i = 0; i < m; ++i) {
      std::memcpy(&qh[(h * m + i) * dk_pad], q.Head(h).Row(i), q.cols * sizeof(float));
      if (relu) bh[h * m + i] = p.ThresholdFor(h, m, i);
    }
  }
  q_.Reserve(std::max<size_t>(1, qh.size() * sizeof(float)));
  q_.Upload(qh.data(), qh.size() * sizeof(float));
  b_.Reserve(std::max<size_t>(1, bh.size() * sizeof(float)));
  b_.Upload(bh.data(), bh.size() * sizeof(float));
}

}  // namespace hsr::gpu
