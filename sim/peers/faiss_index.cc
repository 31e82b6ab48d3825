// The FAISS peer adapter (sim/peers/faiss_index.h). Compiled with or without FAISS; without it,
// FaissAvailable() is false and MakeFaissIndex throws.
#include "sim/peers/faiss_index.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include <fmt/format.h>

#include "core/base/error.h"

#if HSR_WITH_FAISS
#include <faiss/IndexFlat.h>
#include <faiss/impl/AuxIndexStructures.h>
#include <omp.h>
#endif

namespace hsr::sim {

#if HSR_WITH_FAISS
namespace {

void CheckFinite(std::span<const float> v, const char* what, size_t row) {
  for (size_t c = 0; c < v.size(); ++c) {
    HSR_CHECK(std::isfinite(v[c]), "faiss {}: expected finite values, got {} at row {} col {}",
              what, v[c], row, c);
  }
}

class FaissIndex : public HalfSpaceIndex {
 public:
  explicit FaissIndex(size_t threads) : threads_(threads == 0 ? 1 : threads) {}

  void Build(ConstMatrixView keys, float scale) override {
    HSR_CHECK(keys.cols >= 1, "faiss Build: expected d >= 1, got d={}", keys.cols);
    HSR_CHECK(std::isfinite(scale) && scale > 0, "faiss Build: expected a finite scale > 0, got {}",
              scale);
    std::vector<float> dense(keys.rows * keys.cols);
    for (size_t r = 0; r < keys.rows; ++r) {
      CheckFinite(keys.RowSpan(r), "Build key", r);
      std::copy(keys.Row(r), keys.Row(r) + keys.cols, dense.data() + r * keys.cols);
    }
    auto index = std::make_unique<faiss::IndexFlatIP>(static_cast<faiss::Index::idx_t>(keys.cols));
    if (keys.rows) index->add(static_cast<faiss::Index::idx_t>(keys.rows), dense.data());
    index_ = std::move(index);
    scale_ = scale;
  }

  uint32_t Insert(std::span<const float> key) override {
    HSR_CHECK(index_ != nullptr, "faiss Insert: expected Build first, got an empty index");
    HSR_CHECK(key.size() == dim(), "faiss Insert: expected a key with d={} (index), got d={}",
              dim(), key.size());
    CheckFinite(key, "Insert key", size());
    const auto id = static_cast<uint32_t>(size());
    index_->add(1, key.data());
    return id;
  }

  void Query(std::span<const float> q, float b, std::vector<uint32_t>* ids,
             IndexStats* st) const override {
    CheckQuery(q, b);
    ids->clear();
    faiss::RangeSearchResult res(1);
    Search(1, q.data(), b, &res);
    ids->reserve(res.lims[1]);
    for (size_t i = 0; i < res.lims[1]; ++i) ids->push_back(static_cast<uint32_t>(res.labels[i]));
    if (st) Count(1, ids->size(), st);
  }

  void QueryBatch(ConstMatrixView q, std::span<const float> b, ReportBatch* out,
                  IndexStats* st) const override {
    HSR_CHECK(b.size() == q.rows, "faiss QueryBatch: expected one threshold per query ({}), got {}",
              q.rows, b.size());
    for (size_t i = 0; i < q.rows; ++i) CheckQuery(q.RowSpan(i), b[i]);
    ReportBatch batch;
    batch.offsets.assign(1, 0);
    std::vector<float> run;  // contiguous queries of one run of equal thresholds
    for (size_t i = 0; i < q.rows;) {
      size_t j = i + 1;
      while (j < q.rows && b[j] == b[i]) ++j;
      run.resize((j - i) * q.cols);
      for (size_t r = i; r < j; ++r) std::copy(q.Row(r), q.Row(r) + q.cols, &run[(r - i) * q.cols]);
      faiss::RangeSearchResult res(static_cast<faiss::Index::idx_t>(j - i));
      Search(j - i, run.data(), b[i], &res);
      for (size_t r = 0; r < j - i; ++r) {
        for (size_t k = res.lims[r]; k < res.lims[r + 1]; ++k) {
          batch.ids.push_back(static_cast<uint32_t>(res.labels[k]));
        }
        batch.offsets.push_back(batch.ids.size());
      }
      i = j;
    }
    if (st) Count(q.rows, batch.ids.size(), st);
    *out = std::move(batch);
  }

  std::string_view Name() const override { return "faiss"; }
  size_t MemoryBytes() const override { return size() * dim() * sizeof(float); }
  // IndexFlatIP's float32 codes (n x d), the one array its range search reads.
  std::vector<std::span<const std::byte>> Buffers() const override {
    if (!index_) return {};
    return {{reinterpret_cast<const std::byte*>(index_->codes.data()), index_->codes.size()}};
  }
  size_t size() const override { return index_ ? static_cast<size_t>(index_->ntotal) : 0; }
  size_t dim() const override { return index_ ? static_cast<size_t>(index_->d) : 0; }
  std::string Describe() const override {
    return fmt::format("IndexFlatIP range_search, radius=b/scale, omp_threads={}", threads_);
  }

 private:
  void CheckQuery(std::span<const float> q, float b) const {
    HSR_CHECK(index_ != nullptr, "faiss Query: expected Build first, got an empty index");
    HSR_CHECK(q.size() == dim(), "faiss Query: expected q with d={} (index), got d={}", dim(),
              q.size());
    CheckFinite(q, "Query q", 0);
    HSR_CHECK(!std::isnan(b), "faiss Query: expected a threshold that is not NaN, got {}", b);
  }

  void Search(size_t nq, const float* x, float b, faiss::RangeSearchResult* res) const {
    omp_set_num_threads(static_cast<int>(threads_));
    const auto radius = static_cast<float>(static_cast<double>(b) / static_cast<double>(scale_));
    index_->range_search(static_cast<faiss::Index::idx_t>(nq), x, radius, res);
  }

  void Count(size_t queries, size_t reported, IndexStats* st) const {
    IndexStats s;
    s.queries = queries;
    s.keys_bounded = s.candidates = queries * size();
    s.reported = reported;
    s.bytes_read = queries * size() * dim() * sizeof(float);
    st->Merge(s);
  }

  size_t threads_;
  std::unique_ptr<faiss::IndexFlatIP> index_;
  float scale_ = 1.0f;
};

}  // namespace

bool FaissAvailable() { return true; }

std::unique_ptr<HalfSpaceIndex> MakeFaissIndex(size_t threads) {
  return std::make_unique<FaissIndex>(threads);
}

#else

bool FaissAvailable() { return false; }

std::unique_ptr<HalfSpaceIndex> MakeFaissIndex(size_t) {
  Fail("index 'faiss': expected a build with libfaiss-dev (HSR_WITH_FAISS), got a build without "
       "FAISS");
}

#endif

}  // namespace hsr::sim
