// Validation at the attention API boundary. Every function throws hsr::Error with a one-line
// "<where>: expected ..., got ..." message and never modifies its arguments.
#pragma once

#include <string_view>

#include "core/attention/kv_cache.h"
#include "core/attention/params.h"
#include "core/tensor/view.h"

namespace hsr {

// Checks shape, stride, head layout, and that every element is finite; returns max |x|.
float CheckHeads(std::string_view where, std::string_view name, ConstHeadsView x);

// Checks q [Hq, m, d] against kv, out [Hq, m, dv], the params (alpha >= 1, scale finite > 0,
// finite thresholds, b_per_query size), Hq % Hkv == 0, and that no score can overflow float.
void ValidateAttention(std::string_view where, ConstHeadsView q, const KvCache& kv,
                       const AttentionParams& p, HeadsView out);

}  // namespace hsr
