#include "core/hsr/prefill_engine.h"

#include "core/attention/validate.h"

namespace hsr {

void HsrPrefill(ConstHeadsView q, const KvCache& kv, const AttentionParams& p,
                const HsrOptions& options, HeadsView out, HsrCallStats* st) {
  ValidateAttention("hsr prefill", q, kv, p, out);
  HsrOptions o = options;
  o.index_threads = 1;  // rows in parallel over the engine's pool
  DecodeEngine engine(kv, p.ScaleFor(kv.d()), o, /*copy=*/false);
  engine.Attend(q, p, p.causal, out, st);
}

}  // namespace hsr
