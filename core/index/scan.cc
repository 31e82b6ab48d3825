// scan: Highway dispatch unit (hwy/examples/skeleton.cc pattern). See scan.h.
#include "core/index/scan.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/base/error.h"
#include "core/base/thread_pool.h"
#include "core/index/batch_report.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "core/index/scan.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "core/index/recheck-inl.h"

HWY_BEFORE_NAMESPACE();
namespace hsr {
namespace HWY_NAMESPACE {

constexpr size_t kScanBlock = 8192;  // keys per task (one query)

void ScanQueryT(const index_detail::KeyStore& ks, const float* q, float b, ThreadPool* pool,
                std::vector<uint32_t>* ids) {
  const size_t n = ks.n(), d = ks.d();
  const size_t tasks = (n + kScanBlock - 1) / kScanBlock;
  if (pool->NumThreads() == 1 || tasks < 2) {
    ReportRun(q, ks.data(), d, n, ks.scale(), b, 0, ids);
    return;
  }
  std::vector<std::vector<uint32_t>> parts(tasks);
  pool->Run(tasks, [&](size_t task, size_t /*thread*/) {
    const size_t begin = task * kScanBlock;
    const size_t count = std::min(kScanBlock, n - begin);
    ReportRun(q, ks.Row(begin), d, count, ks.scale(), b, static_cast<uint32_t>(begin),
              &parts[task]);
  });
  for (const auto& p : parts) ids->insert(ids->end(), p.begin(), p.end());
}

void ScanScoresT(const index_detail::KeyStore& ks, const float* q, float* scores) {
  ScoreRun(q, ks.data(), ks.d(), ks.d(), ks.n(), ks.scale(), scores);
}

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace hsr
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace hsr {

HWY_EXPORT(ScanQueryT);
HWY_EXPORT(ScanScoresT);

ScanIndex::ScanIndex(size_t threads) : pool_(std::make_unique<ThreadPool>(threads)) {}
ScanIndex::~ScanIndex() = default;

void ScanIndex::Build(ConstMatrixView keys, float scale) { keys_.Assign("scan Build", keys, scale); }

uint32_t ScanIndex::Insert(std::span<const float> key) { return keys_.Append("scan Insert", key); }

void ScanIndex::Query(std::span<const float> q, float b, std::vector<uint32_t>* ids,
                      IndexStats* st) const {
  keys_.ValidateQuery("scan Query", q, b);
  ids->clear();
  HWY_DYNAMIC_DISPATCH(ScanQueryT)(keys_, q.data(), b, pool_.get(), ids);
  if (st) {
    const uint64_t n = keys_.n();
    st->queries += 1;
    st->keys_bounded += n;
    st->candidates += n;
    st->reported += ids->size();
    st->bytes_read += n * keys_.d() * sizeof(float);
  }
}

std::vector<float> ScanIndex::Scores(std::span<const float> q) const {
  keys_.ValidateQuery("scan Scores", q, 0.0f);
  std::vector<float> scores(keys_.n());
  HWY_DYNAMIC_DISPATCH(ScanScoresT)(keys_, q.data(), scores.data());
  return scores;
}

void ScanIndex::QueryBatch(ConstMatrixView q, std::span<const float> b, ReportBatch* out,
                           IndexStats* st) const {
  keys_.ValidateBatch("scan QueryBatch", q, b);
  const size_t m = q.rows;
  BatchReportInput in;
  in.keys = ConstMatrixView{keys_.data(), keys_.n(), keys_.d(), keys_.d()};
  in.key_norm_max = keys_.max_norm();
  in.scale = keys_.scale();
  in.q = q;
  in.b = b;
  BatchReport(in, pool_.get(), out);
  if (st) {
    const uint64_t n = keys_.n();
    st->queries += m;
    st->keys_bounded += n * m;
    st->candidates += n * m;
    st->reported += out->ids.size();
    // Each key block is read from memory once per batch (then served from cache).
    st->bytes_read += n * keys_.d() * sizeof(float);
  }
}

}  // namespace hsr
#endif  // HWY_ONCE
