// HalfSpaceIndex: exact half-space reporting over a growing set of keys (shaped like
// faiss/Index.h). docs/design.md §1: key j is reported for (q, b) iff
//     s_j = ScoreRun(q, k_j, scale) > b        (strict; float32, core/attention/score-inl.h)
// where ScoreRun is the one shared float32 score kernel. Every index returns exactly that set
// (the set `scan` returns); bounds used to skip keys are conservative (never below s_j, rounding
// included) and candidates are rechecked with ScoreRun against the float32 keys the index owns.
//
// Indexes (names as on the command line, docs/design.md §2): scan, sketch8, lowrank, balltree.
// Reference: scan (core/index/scan.h). Test: verify/tests/index_props.cc.
//
// Validation happens at the API boundary (hsr::Error, one line "expected ..., got ..."); a
// rejected call leaves the index unchanged. Counters are per call and merged by the caller.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/tensor/view.h"

namespace hsr {

// Work counters of one or more calls (never global; merge per call).
struct IndexStats {
  uint64_t queries = 0;       // queries answered
  uint64_t keys_bounded = 0;  // keys (or tree nodes) whose score bound was evaluated
  uint64_t candidates = 0;    // keys rechecked with the exact float32 score kernel
  uint64_t reported = 0;      // keys reported (s_j > b)
  uint64_t bytes_read = 0;    // bytes of index data read (keys, sketches, bounds, nodes)

  void Merge(const IndexStats& o) {
    queries += o.queries;
    keys_bounded += o.keys_bounded;
    candidates += o.candidates;
    reported += o.reported;
    bytes_read += o.bytes_read;
  }
};

// Reports of m queries in CSR form: query i's ids are ids[offsets[i] .. offsets[i + 1]),
// order within a query unspecified (sort before comparing). offsets has m + 1 entries.
struct ReportBatch {
  std::vector<uint64_t> offsets;
  std::vector<uint32_t> ids;

  size_t queries() const { return offsets.empty() ? 0 : offsets.size() - 1; }
  std::span<const uint32_t> Ids(size_t i) const {
    return {ids.data() + offsets[i], static_cast<size_t>(offsets[i + 1] - offsets[i])};
  }
};

class HalfSpaceIndex {
 public:
  virtual ~HalfSpaceIndex() = default;

  // Replaces the contents with keys (n x d, row-major, any stride; n = 0 allowed, d >= 1),
  // ids 0..n-1. scale: finite, > 0 (docs/design.md: 1/sqrt(d) by default). The index copies keys.
  virtual void Build(ConstMatrixView keys, float scale) = 0;
  // Appends one key of length d (after Build); returns its id (= previous size()).
  virtual uint32_t Insert(std::span<const float> key) = 0;
  // ids <- { j : ScoreRun(q, k_j) > b } (cleared first, order unspecified). q: d floats,
  // finite; b: not NaN (+-Inf allowed). st may be null; else this call's counters are added.
  virtual void Query(std::span<const float> q, float b, std::vector<uint32_t>* ids,
                     IndexStats* st) const = 0;
  // m queries (q: m x d) with one threshold each (b.size() == m). Default loops Query.
  virtual void QueryBatch(ConstMatrixView q, std::span<const float> b, ReportBatch* out,
                          IndexStats* st) const;

  // Softmax certificates (core/hsr/softmax_cert.h). Query restricted to the key prefix
  // [0, visible) (visible <= size()). When tail is non-null and the index has per-key bounds, it
  // also sets *tail >= sum over the unreported keys j < visible of exp(ScoreRun(q, k_j) - b)
  // (every term <= 1, so *tail <= visible - |ids|) and returns true; otherwise leaves *tail
  // alone and returns false. Default: Query, then drop ids >= visible.
  // scores (may be null): cleared; an index that scores its reports anyway (sketch8's recheck)
  // sets scores[i] = ScoreRun(q, k_ids[i]) for every reported id; others leave it empty and
  // the caller scores the ids itself.
  virtual bool QueryPrefixTail(std::span<const float> q, float b, size_t visible,
                               std::vector<uint32_t>* ids, IndexStats* st, double* tail,
                               std::vector<float>* scores = nullptr) const;
  // Per-key certified upper bounds of keys [0, visible): ub[j] + *tiny >= ScoreRun(q, k_j) for
  // every j, *max = max_j ub[j]. Returns false (nothing written) when the index has no per-key
  // bounds or does not trust them for this q. A NaN bound (a corrupted index) is an hsr::Error.
  virtual bool KeyBounds(std::span<const float> /*q*/, size_t /*visible*/, float* /*ub*/,
                         float* /*max*/, double* /*tiny*/, IndexStats* /*st*/) const {
    return false;
  }

  virtual std::string_view Name() const = 0;
  // Bytes held by the index (keys, sketches, tree), excluding the thread pool.
  virtual size_t MemoryBytes() const = 0;
  // The memory a query reads: the float32 key copy and every code, bound, norm and node array
  // (their used bytes; sum <= MemoryBytes()). Valid until the next Build or Insert. For
  // evicting the index from the CPU caches before a cold timed call (sim/bench/bench.h).
  virtual std::vector<std::span<const std::byte>> Buffers() const = 0;
  virtual size_t size() const = 0;  // n
  virtual size_t dim() const = 0;   // d (0 before Build)
  // One line of index-specific facts for reports ("rank=16 energy=0.93"); may be empty.
  virtual std::string Describe() const { return {}; }
};

// Options shared by the factory; each index reads the ones it uses.
struct IndexOptions {
  size_t threads = 1;      // worker threads (scan, sketch8, lowrank); 0 = hardware
  size_t rank = 0;         // lowrank: r; 0 = smallest r holding >= energy of the keys
  double energy = 0.95;    // lowrank: energy share for automatic r (r <= d / 2)
  size_t leaf_size = 48;   // balltree: target keys per leaf (split at 2 x leaf_size)
  uint64_t seed = 1;       // balltree: k-means seeding
};

// Names accepted by MakeIndex, in catalogue order.
std::vector<std::string> IndexNames();
// "scan", "sketch8", "lowrank", "balltree"; hsr::Error for any other name.
std::unique_ptr<HalfSpaceIndex> MakeIndex(std::string_view name, const IndexOptions& options = {});

}  // namespace hsr
