// CudaSession: what every GPU backend object holds: the device (first usable one), the
// K/V copies it uploaded (DeviceKv, cached by data pointers, shapes and strides: the KvCache
// data must outlive the session and stay unchanged, as for hsr-cpu), and the per-call query
// upload (rows h * m + i, zero padded to dk_pad, plus one ReLU threshold per row).
// Construction throws hsr::Error "<backend>: no CUDA device (<reason>)" when there is none.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>

#include "core/attention/kv_cache.h"
#include "core/attention/params.h"
#include "core/tensor/view.h"
#include "gpu/attention/device_kv.h"
#include "gpu/base/device_buffer.h"
#include "gpu/base/kv_dtype.h"

namespace hsr::gpu {

class CudaSession {
 public:
  explicit CudaSession(std::string_view backend_name);

  const std::string& device_name() const { return device_name_; }
  size_t sm_count() const { return sm_count_; }

  // The device copy of kv in storage type t, uploaded on first use.
  const DeviceKv& Kv(std::string_view where, const KvCache& kv, KvDtype t, size_t dk_pad,
                     size_t dv_pad);
  bool Cached(const KvCache& kv, KvDtype t) const;
  void ReleaseCache() { cache_.clear(); }

  // Uploads q ([Hq, m, d] -> [Hq * m, dk_pad]) and, for relu, p's threshold per row.
  void UploadQueries(ConstHeadsView q, const AttentionParams& p, size_t dk_pad);
  const float* q() const { return q_.as<float>(); }
  const float* b() const { return b_.as<float>(); }

 private:
  using Key = std::tuple<const float*, const float*, size_t, size_t, size_t, size_t, size_t,
                         size_t, size_t, size_t, int>;
  static Key KeyOf(const KvCache& kv, KvDtype t);

  std::string device_name_;
  size_t sm_count_ = 0;
  std::map<Key, std::unique_ptr<DeviceKv>> cache_;
  DeviceBuffer q_, b_;
};

}  // namespace hsr::gpu
