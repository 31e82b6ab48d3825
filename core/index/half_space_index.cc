#include "core/index/half_space_index.h"

#include <algorithm>
#include <utility>

#include "core/base/error.h"
#include "core/index/balltree.h"
#include "core/index/lowrank.h"
#include "core/index/scan.h"
#include "core/index/sketch8.h"

namespace hsr {

void HalfSpaceIndex::QueryBatch(ConstMatrixView q, std::span<const float> b, ReportBatch* out,
                                IndexStats* st) const {
  HSR_CHECK(b.size() == q.rows, "{} QueryBatch: expected one threshold per query ({}), got {}",
            Name(), q.rows, b.size());
  HSR_CHECK(q.rows == 0 || q.cols == dim(),
            "{} QueryBatch: expected queries with d={} (index), got d={}", Name(), dim(), q.cols);
  // Fill a local batch and swap it in at the end, so a rejected query changes nothing.
  ReportBatch batch;
  batch.offsets.assign(1, 0);
  std::vector<uint32_t> ids;
  IndexStats local;
  for (size_t i = 0; i < q.rows; ++i) {
    Query(std::span<const float>(q.Row(i), q.cols), b[i], &ids, &local);
    batch.ids.insert(batch.ids.end(), ids.begin(), ids.end());
    batch.offsets.push_back(batch.ids.size());
  }
  *out = std::move(batch);
  if (st) st->Merge(local);
}

bool HalfSpaceIndex::QueryPrefixTail(std::span<const float> q, float b, size_t visible,
                                     std::vector<uint32_t>* ids, IndexStats* st,
                                     double* /*tail*/, std::vector<float>* scores) const {
  if (scores) scores->clear();
  HSR_CHECK(visible <= size(), "{} QueryPrefixTail: expected visible <= n={}, got {}", Name(),
            size(), visible);
  Query(q, b, ids, st);
  if (visible < size()) {
    ids->erase(std::remove_if(ids->begin(), ids->end(), [&](uint32_t id) { return id >= visible; }),
               ids->end());
  }
  return false;
}

std::vector<std::string> IndexNames() { return {"scan", "sketch8", "lowrank", "balltree"}; }

std::unique_ptr<HalfSpaceIndex> MakeIndex(std::string_view name, const IndexOptions& options) {
  if (name == "scan") return std::make_unique<ScanIndex>(options.threads);
  if (name == "sketch8") return std::make_unique<Sketch8Index>(options.threads);
  if (name == "lowrank") {
    return std::make_unique<LowRankIndex>(options.threads, options.rank, options.energy);
  }
  if (name == "balltree") return std::make_unique<BallTreeIndex>(options.leaf_size, options.seed);
  Fail("MakeIndex: expected one of scan, sketch8, lowrank, balltree, got '{}'", name);
}

}  // namespace hsr
