// HsrPrefill: HSR attention for the paper's prompt prefilling (DESIGN.md §1). Builds one index
// per kv head over kv (time in st->build_us, part of the call), then answers every query row
// with the DecodeEngine row kernels, rows spread over `options.threads` (indexes
// single-threaded), causal masking bottom-right aligned (ids >= i + n - m + 1 dropped from the
// report; thresholds sampled among the visible keys; certificates over the visible keys).
// Reference: dense_ref.h via verify::Oracle. Test: verify/tests/hsr_props.cc.
#pragma once

#include "core/attention/kv_cache.h"
#include "core/attention/params.h"
#include "core/hsr/decode_engine.h"
#include "core/tensor/view.h"

namespace hsr {

// q [Hq, m, d], kv [Hkv, n, d|dv], out [Hq, m, dv]; causal from p.causal. Throws hsr::Error
// on bad input before any output is written. kv's data is referenced, not copied.
void HsrPrefill(ConstHeadsView q, const KvCache& kv, const AttentionParams& p,
                const HsrOptions& options, HeadsView out, HsrCallStats* st);

}  // namespace hsr
