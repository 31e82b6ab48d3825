#include "gpu/attention/device_kv.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/base/error.h"

namespace hsr::gpu {

void PackRows(std::string_view where, std::string_view name, KvDtype t, ConstMatrixView src,
              size_t cols_pad, std::vector<uint8_t>* dst) {
  HSR_CHECK(cols_pad >= src.cols, "{}: expected padded width >= {}, got {}", where, src.cols,
            cols_pad);
  const size_t esize = BytesPerElement(t);
  dst->assign(src.rows * cols_pad * esize, 0);
  const float limit = MaxFinite(t);
  for (size_t r = 0; r < src.rows; ++r) {
    const float* row = src.Row(r);
    uint8_t* out = dst->data() + r * cols_pad * esize;
    for (size_t c = 0; c < src.cols; ++c) {
      const float x = row[c];
      HSR_CHECK(std::fabs(x) <= limit, "{}: expected |{}| <= {} for {} storage, got {} at [{}, {}]",
                where, name, limit, ToString(t), x, r, c);
      if (t == KvDtype::kF32) {
        std::memcpy(out + 4 * c, &x, 4);
      } else {
        const uint16_t bits = t == KvDtype::kF16 ? FloatToHalfBits(x) : FloatToBf16Bits(x);
        HSR_CHECK(std::isfinite(t == KvDtype::kF16 ? HalfBitsToFloat(bits) : Bf16BitsToFloat(bits)),
                  "{}: expected |{}| to stay finite in {} storage, got {} at [{}, {}]", where,
                  name, ToString(t), x, r, c);
        std::memcpy(out + 2 * c, &bits, 2);
      }
    }
  }
}

DeviceKv::DeviceKv(std::string_view where, const KvCache& kv, KvDtype t, size_t dk_pad,
                   size_t dv_pad)
    : dtype_(t), dk_pad_(dk_pad), dv_pad_(dv_pad) {
  const size_t esize = BytesPerElement(t), n = kv.n(), heads = kv.heads();
  k_.Reserve(std::max<size_t>(1, heads * n * dk_pad * esize));
  v_.Reserve(std::max<size_t>(1, heads * n * dv_pad * esize));
  std::vector<uint8_t> staging;
  for (size_t h = 0; h < heads; ++h) {  // one head at a time: staging stays one head's size
    PackRows(where, "K", t, kv.k().Head(h), dk_pad, &staging);
    k_.Upload(staging.data(), staging.size(), h * n * dk_pad * esize);
    PackRows(where, "V", t, kv.v().Head(h), dv_pad, &staging);
    v_.Upload(staging.data(), staging.size(), h * n * dv_pad * esize);
  }
}

}  // namespace hsr::gpu
