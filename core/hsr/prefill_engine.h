// HsrPrefill: HSR attention for the paper's prompt prefilling (DESIGN.md §1), causal masking
// bottom-right aligned (row i of m sees keys j <= i + n - m; thresholds sampled among the
// visible keys; certificates over the visible keys). The engine (DecodeEngine over kv, data
// referenced) builds one index per kv head (time in st->build_us, part of the call). Then, with
// options.prefill_report = kBatch (default kAuto: for ReLU):
//   1. every row's threshold from its seeded sample (rows in parallel);
//   2. per query head, BatchReport (core/index/batch_report.h): the rows' exact reports over
//      their causal key prefixes from one certified float32 tile pass (K streamed once per
//      BatchReportRows() rows) and a ScoreRun recheck of the candidates;
//   3. DecodeEngine::Attend with those reports: exact ReLU^alpha / certified softmax per row
//      (tau certificate).
// err= policies, kIndex and kAuto softmax (for sketch8's tighter eps_sketch certificate) answer
// every row through the engine instead: one index query (or the
// per-key sketch selection of softmax_cert.h) per row, restricted to the row's key prefix.
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
