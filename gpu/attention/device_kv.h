// DeviceKv: a KvCache's K and V copied to the device once, in the storage type (KvDtype), as
// K [Hkv, n, dk_pad] and V [Hkv, n, dv_pad] with zero padding (zeros add exact zeros to every
// dot product and accumulator). PackRows is the host half, unit-tested on CPU.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/attention/kv_cache.h"
#include "core/tensor/view.h"
#include "gpu/base/device_buffer.h"
#include "gpu/base/kv_dtype.h"

namespace hsr::gpu {

// dst = src rows as rows x cols_pad elements of `t` (round to nearest even), padding zero.
// Throws hsr::Error "<where>: expected |<name>| <= MAX for <t> storage, got X at [r, c]" when a
// value does not fit the storage type (it would become Inf). cols_pad >= src.cols.
void PackRows(std::string_view where, std::string_view name, KvDtype t, ConstMatrixView src,
              size_t cols_pad, std::vector<uint8_t>* dst);

class DeviceKv {
 public:
  // Uploads kv (validated already by its constructor) with padded widths dk_pad >= d and
  // dv_pad >= dv. Throws hsr::Error on a value out of the storage range or a CUDA error.
  DeviceKv(std::string_view where, const KvCache& kv, KvDtype t, size_t dk_pad, size_t dv_pad);

  const void* k() const { return k_.get(); }
  const void* v() const { return v_.get(); }
  KvDtype dtype() const { return dtype_; }
  size_t dk_pad() const { return dk_pad_; }
  size_t dv_pad() const { return dv_pad_; }
  size_t bytes() const { return k_.bytes() + v_.bytes(); }

 private:
  DeviceBuffer k_, v_;
  KvDtype dtype_;
  size_t dk_pad_, dv_pad_;
};

}  // namespace hsr::gpu
