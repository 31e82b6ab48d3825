// scan: SIMD brute force over the float32 keys; the reference every other index is checked
// against (like faiss IndexFlatIP range_search). Query: one Highway dispatch per call, key
// blocks spread over the index's own thread pool, ScoreRun (core/attention/score-inl.h) then
// s > b. QueryBatch: BatchReport (batch_report.h): certified tile scores, ScoreRun recheck.
// Insert: O(d) amortised (vector append). Memory: 4 n d bytes.
// Test: verify/tests/index_props.cc (vs a float64 loop on exact inputs).
#pragma once

#include <memory>

#include "core/index/half_space_index.h"
#include "core/index/key_store.h"

namespace hsr {

class ThreadPool;

class ScanIndex : public HalfSpaceIndex {
 public:
  explicit ScanIndex(size_t threads = 1);
  ~ScanIndex() override;

  void Build(ConstMatrixView keys, float scale) override;
  uint32_t Insert(std::span<const float> key) override;
  void Query(std::span<const float> q, float b, std::vector<uint32_t>* ids,
             IndexStats* st) const override;
  void QueryBatch(ConstMatrixView q, std::span<const float> b, ReportBatch* out,
                  IndexStats* st) const override;
  std::string_view Name() const override { return "scan"; }
  size_t MemoryBytes() const override { return keys_.Bytes(); }
  std::vector<std::span<const std::byte>> Buffers() const override { return {keys_.Buffer()}; }
  size_t size() const override { return keys_.n(); }
  size_t dim() const override { return keys_.d(); }

  // Debug/test: scores[j] = ScoreRun(q, k_j) for every key (the set's definition).
  std::vector<float> Scores(std::span<const float> q) const;

 private:
  index_detail::KeyStore keys_;
  std::unique_ptr<ThreadPool> pool_;
};

}  // namespace hsr
