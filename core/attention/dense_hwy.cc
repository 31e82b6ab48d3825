// dense-hwy: Highway dispatch unit (hwy/examples/skeleton.cc pattern). Plan and merge here;
// the per-target kernels live in dense_rows-inl.h (split-K decode rows) and dense_tile-inl.h
// (query-in-lanes tiles). Reference: dense_ref.cc. Test: dense_hwy_test.cc.
#include "core/attention/dense_hwy.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "core/attention/validate.h"
#include "core/base/thread_pool.h"

#ifndef HSR_CORE_ATTENTION_DENSE_HWY_SHARED_
#define HSR_CORE_ATTENTION_DENSE_HWY_SHARED_
namespace hsr::dense_hwy_detail {

// One validated attention call. Rows of kv head g are numbered r in [0, group * m):
// query head g * group + r / m, query index r % m; its global row is g * group * m + r.
struct Job {
  ConstHeadsView q;
  ConstHeadsView k, v;
  HeadsView out;
  const AttentionParams* p = nullptr;
  bool causal = false, relu = false;
  int alpha = 1;
  size_t hq = 0, hkv = 0, group = 1, m = 0, n = 0, d = 0, dv = 0;
  float scale = 1.0f;
  bool stream = false;   // K + V larger than stream_bytes: score keys in row order
  size_t splits = 1;     // key splits; > 1 writes partials instead of out
  float* partials = nullptr;  // [hq * m][splits][2 + dv]: ref, l, acc

  size_t RowsPerKvHead() const { return group * m; }
  const float* QRow(size_t g, size_t r) const {
    return q.Head(g * group + r / m).Row(r % m);
  }
  size_t Limit(size_t r) const { return VisibleKeys(causal, r % m, m, n); }
  float Threshold(size_t g, size_t r) const {
    return p->ThresholdFor(g * group + r / m, m, r % m);
  }
  size_t GlobalRow(size_t g, size_t r) const { return g * group * m + r; }
};

// Running state of one row: weights are relative to ref (softmax: running max score;
// relu: running max of s - b, 0 while no weight is positive); l = sum of weights, acc[c] =
// sum of weight * v_c. Emits to out (splits == 1, returns true for an empty row) or to the
// partial slot of `split`.
inline bool EmitRow(const Job& job, size_t g, size_t r, size_t split, float ref, float l,
                    const float* acc, size_t acc_stride) {
  const size_t dv = job.dv;
  const size_t row = job.GlobalRow(g, r);
  if (job.splits > 1) {
    float* part = job.partials + (row * job.splits + split) * (2 + dv);
    part[0] = ref;
    part[1] = l;
    for (size_t c = 0; c < dv; ++c) part[2 + c] = acc[c * acc_stride];
    return false;
  }
  float* o = job.out.Head(row / job.m).Row(row % job.m);
  if (!(l > 0.0f)) {
    std::fill(o, o + dv, 0.0f);
    return true;
  }
  const float inv = 1.0f / l;
  for (size_t c = 0; c < dv; ++c) o[c] = acc[c * acc_stride] * inv;
  return false;
}

// Merges split partials (flash-decoding) in float64: with M the largest reference among
// partials that hold weight, each partial's weights are rescaled by exp(ref - M) (softmax)
// or (ref / M)^alpha (relu), both in [0, 1]. Returns the number of empty rows.
inline uint64_t MergePartials(const dense_hwy_detail::Job& job) {
  const size_t dv = job.dv, splits = job.splits;
  std::vector<double> o(dv);
  uint64_t empty = 0;
  for (size_t row = 0; row < job.hq * job.m; ++row) {
    const float* base = job.partials + row * splits * (2 + dv);
    double top = -std::numeric_limits<double>::infinity();
    for (size_t s = 0; s < splits; ++s) {
      if (base[s * (2 + dv) + 1] > 0.0f) top = std::max(top, double{base[s * (2 + dv)]});
    }
    float* out = job.out.Head(row / job.m).Row(row % job.m);
    if (top == -std::numeric_limits<double>::infinity()) {
      std::fill(out, out + dv, 0.0f);
      ++empty;
      continue;
    }
    std::fill(o.begin(), o.end(), 0.0);
    double l = 0.0;
    for (size_t s = 0; s < splits; ++s) {
      const float* part = base + s * (2 + dv);
      if (!(part[1] > 0.0f)) continue;
      const double f = job.relu ? std::pow(double{part[0]} / top, job.alpha)
                                : std::exp(double{part[0]} - top);
      l += f * part[1];
      for (size_t c = 0; c < dv; ++c) o[c] += f * part[2 + c];
    }
    for (size_t c = 0; c < dv; ++c) out[c] = static_cast<float>(o[c] / l);
  }
  return empty;
}

}  // namespace hsr::dense_hwy_detail
#endif  // HSR_CORE_ATTENTION_DENSE_HWY_SHARED_

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "core/attention/dense_hwy.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "hwy/aligned_allocator.h"
#include "core/attention/dense_rows-inl.h"
#include "core/attention/dense_tile-inl.h"

HWY_BEFORE_NAMESPACE();
namespace hsr {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Plans tasks for this target and runs them on pool (the target was dispatched once by the
// caller; every task runs this target's kernels).
void RunDenseHwy(dense_hwy_detail::Job& job, ThreadPool* pool, uint64_t* empty_rows) {
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df);
  const size_t rows = job.RowsPerKvHead();
  if (rows == 0) return;
  // Query-in-lanes tiles once a kv head has a vector's worth of rows; else rows of one query.
  const bool tiles = rows >= N;
  const size_t per_task = tiles ? TileTaskRows(df) : std::min(rows, kMaxDecodeRows);
  const size_t blocks = (rows + per_task - 1) / per_task;
  const size_t base_tasks = job.hkv * blocks;
  const size_t threads = pool->NumThreads();
  // Split keys so that every thread has work even with one head (flash-decoding), but keep
  // each split at >= kMinSplitKeys keys.
  size_t splits = 1;
  if (threads > 1 && base_tasks < 4 * threads) {
    const size_t want = (4 * threads + base_tasks - 1) / base_tasks;
    splits = std::max<size_t>(1, std::min(want, job.n / kMinSplitKeys));
  }
  const size_t split_keys =
      splits == 1 ? job.n : ((job.n + splits - 1) / splits + kTileKeys - 1) / kTileKeys * kTileKeys;
  if (splits > 1) splits = (job.n + split_keys - 1) / split_keys;
  job.splits = splits;
  std::vector<float> partials;
  if (splits > 1) {
    partials.resize(job.hq * job.m * splits * (2 + job.dv));
    job.partials = partials.data();
  }

  const size_t scratch_floats =
      tiles ? TileScratchFloats(df, job.d, job.dv) : RowsScratchFloats(df, job.dv);
  std::vector<hwy::AlignedFreeUniquePtr<float[]>> scratch(threads);
  for (auto& s : scratch) s = hwy::AllocateAligned<float>(scratch_floats);
  std::vector<uint64_t> empty(threads * 8, 0);

  const size_t tasks = base_tasks * splits;
  const dense_hwy_detail::Job& cjob = job;
  pool->Run(tasks, [&](size_t task, size_t thread) {
    // Heaviest (last, for causal) row blocks first; the pool hands tasks out in order.
    const size_t split = task % splits;
    const size_t rest = task / splits;
    const size_t g = rest % cjob.hkv;
    const size_t block = blocks - 1 - rest / cjob.hkv;
    const size_t r0 = block * per_task;
    const size_t count = std::min(per_task, rows - r0);
    const size_t kb = std::min(cjob.n, split * split_keys);
    const size_t ke = std::min(cjob.n, kb + split_keys);
    float* buf = scratch[thread].get();
    empty[thread * 8] += tiles ? TileTask(cjob, g, r0, count, split, kb, ke, buf)
                               : RowsTask(cjob, g, r0, count, split, kb, ke, buf);
  });
  for (size_t t = 0; t < threads; ++t) *empty_rows += empty[t * 8];
  if (splits > 1) *empty_rows += dense_hwy_detail::MergePartials(job);
  job.partials = nullptr;  // freed on return
}

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace hsr
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace hsr {

HWY_EXPORT(RunDenseHwy);

void DenseHwyAttention(std::string_view where, ConstHeadsView q, const KvCache& kv,
                       const AttentionParams& p, HeadsView out, ThreadPool& pool,
                       AttentionStats* stats, size_t stream_bytes) {
  ValidateAttention(where, q, kv, p, out);
  DenseHwyAttentionValidated(q, kv.k(), kv.v(), p, out, pool, stats, stream_bytes);
}

void DenseHwyAttentionValidated(ConstHeadsView q, ConstHeadsView k, ConstHeadsView v,
                                const AttentionParams& p, HeadsView out, ThreadPool& pool,
                                AttentionStats* stats, size_t stream_bytes) {
  dense_hwy_detail::Job job;
  job.q = q;
  job.k = k;
  job.v = v;
  job.out = out;
  job.p = &p;
  job.causal = p.causal;
  job.relu = p.kind == AttentionKind::kRelu;
  job.alpha = p.alpha;
  job.hq = q.heads;
  job.hkv = k.heads;
  job.group = job.hq / job.hkv;
  job.m = q.rows;
  job.n = k.rows;
  job.d = k.cols;
  job.dv = v.cols;
  job.scale = p.ScaleFor(job.d);
  job.stream = (k.heads * k.rows * k.cols + v.heads * v.rows * v.cols) * sizeof(float) > stream_bytes;
  uint64_t empty = 0;
  HWY_DYNAMIC_DISPATCH(RunDenseHwy)(job, &pool, &empty);
  if (stats) {
    AttentionStats local;
    local.queries = job.hq * job.m;
    for (size_t i = 0; i < job.m; ++i) {
      local.keys_scored += job.hq * VisibleKeys(job.causal, i, job.m, job.n);
    }
    local.empty_rows = empty;
    stats->Merge(local);
  }
}

std::string DenseHwyTargetName() {
  int64_t targets = hwy::SupportedTargets() & HWY_TARGETS;
  targets &= -targets;  // lowest bit: the best target
  return hwy::TargetName(targets);
}

DenseHwyBackend::DenseHwyBackend(size_t threads, size_t stream_bytes)
    : pool_(std::make_unique<ThreadPool>(threads)), stream_bytes_(stream_bytes) {}
DenseHwyBackend::~DenseHwyBackend() = default;

void DenseHwyBackend::Decode(ConstHeadsView q, const KvCache& kv, const AttentionParams& p,
                             HeadsView out, AttentionStats* stats) {
  DenseHwyAttention("dense-hwy Decode", q, kv, p, out, *pool_, stats, stream_bytes_);
}

void DenseHwyBackend::Prefill(ConstHeadsView q, const KvCache& kv, const AttentionParams& p,
                              HeadsView out, AttentionStats* stats) {
  DenseHwyAttention("dense-hwy Prefill", q, kv, p, out, *pool_, stats, stream_bytes_);
}

}  // namespace hsr
#endif  // HWY_ONCE
