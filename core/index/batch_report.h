// BatchReport: exact half-space reports for a block of queries over key prefixes — the batched
// scan behind ScanIndex::QueryBatch (prefill screens with sketch8's integer codes instead:
// Sketch8Index::ReportPrefixBatch, core/hsr/prefill_engine.h).
//
//   out query i = { j < limit_i : ScoreRun(q_i, k_j) > b_i }   (ascending; docs/design.md §1)
//
// Method: queries in lanes, key tiles of 64 keys shared by 8 sub-blocks of TileRows queries
// while they sit in L1/L2 (the dense-hwy prefill tile schedule), scores from the shared tile
// kernel (ScoreTile, core/attention/score_tile-inl.h: one float32 FMA chain per pair). A key is a
// candidate when its tile score clears a per-query threshold lowered by the certified rounding
// gap between the tile score and ScoreRun (proof in batch_report.cc); candidates are rechecked
// with ScoreRun while their tile is in cache, so the sets are exactly scan's. Cost: one float32 GEMM over the visible pairs,
// K streamed once per 8 * TileRows queries. Test: verify/tests/index_props.cc.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "core/index/half_space_index.h"
#include "core/tensor/view.h"

namespace hsr {

class ThreadPool;

struct BatchReportInput {
  ConstMatrixView keys;     // n x d, finite (validated by the caller)
  double key_norm_max = 0;  // >= max_j ||k_j|| (index_detail::NormUp); bounds use it
  float scale = 1.0f;       // finite > 0
  ConstMatrixView q;        // m x d, finite
  std::span<const float> b;          // m thresholds, not NaN
  std::span<const uint32_t> limits;  // m prefix lengths (<= n), or empty: every key
};

// Fills out (m queries, CSR, ids ascending) and returns the number of candidates rechecked;
// row_candidates (may be null) gets them per query, scores (may be null) the ScoreRun score of
// every reported id (parallel to out->ids). Rows are spread over pool (may be null: the calling
// thread). Throws hsr::Error on inconsistent shapes or limits.
uint64_t BatchReport(const BatchReportInput& in, ThreadPool* pool, ReportBatch* out,
                     std::vector<uint64_t>* row_candidates = nullptr,
                     std::vector<float>* scores = nullptr);

// Queries that share one pass over K on the current target (8 x TileRows).
size_t BatchReportRows();

namespace index_detail {
// One query's report while a batched report builds it: ids with s > b (ascending), their
// ScoreRun scores, the candidates rechecked.
struct ReportRow {
  std::vector<uint32_t> ids;
  std::vector<float> scores;
  uint64_t candidates = 0;
  // Sketch8Index::ReportPrefixBatch with tails: sum over the non-candidates of the bound on
  // e^(ub_j - b) (sketch8.cc's tail proof); < 0 when the row has no per-key bounds.
  double tail = -1.0;
};
// Concatenates rows (one per query) into out (CSR) as BatchReport returns them; returns the
// candidates summed. row_candidates / scores (may be null) as BatchReport's.
uint64_t CollectReportRows(const std::vector<ReportRow>& rows, ReportBatch* out,
                           std::vector<uint64_t>* row_candidates, std::vector<float>* scores);
}  // namespace index_detail

// The name under which results report this path (HsrCallStats::reporter, `hsr bench`'s index
// column): the prefill engine's batched report is not an index.
inline constexpr std::string_view kBatchReportName = "batch-report";

}  // namespace hsr
