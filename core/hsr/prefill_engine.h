// HsrPrefill: HSR attention for the paper's prompt prefilling (docs/design.md §1), causal masking
// bottom-right aligned (row i of m sees keys j <= i + n - m; thresholds sampled among the
// visible keys; certificates over the visible keys). The engine (DecodeEngine over kv, data
// referenced) answers the rows. With options.prefill_report = kBatch (default kAuto: for ReLU)
// it builds no index (the batch path never queries one; st->build_us is the build of the
// sketch8 key codes the screen reads, part of the call):
//   1. every row's threshold from its seeded sample (rows sharing a sample scored together,
//      sample_scores.h);
//   2. per query head, Sketch8Index::ReportPrefixBatch (core/index/sketch8.h): the rows' exact
//      reports over their causal key prefixes from sketch8's certified integer screen (13-bit
//      query codes against the heads' 8-bit key codes, vpdpbusd / vpmaddubsw, a 128-key tile of
//      codes shared by 256 rows) and a ScoreRun recheck of the candidates; softmax rows also get
//      the screen's per-key-bound tail;
//   3. DecodeEngine::Attend with those reports: exact ReLU^alpha, or softmax with the eps_sketch
//      certificate (the tau certificate for rows whose bounds are not trusted).
// err= policies (their rows select keys by per-key bounds one row at a time), kIndex and kAuto
// softmax answer every row through the engine instead (one index per kv head built inside the
// call, time in st->build_us): one index query (or the per-key sketch selection of
// softmax_cert.h) per row, restricted to the row's key prefix.
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
