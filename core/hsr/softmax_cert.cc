// Softmax certificates from per-key bounds: the err=E selection (softmax_cert.h).
#include "core/hsr/softmax_cert.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/base/thread_pool.h"

namespace hsr {

double CertEps(double tail, double z) { return tail > 0.0 ? tail / (z + tail) : 0.0; }

SketchSelection SelectBySketch(const SparseKernels& kern, const HalfSpaceIndex& index,
                               const float* q, const float* k, size_t d, float scale,
                               size_t visible, double target, CertScratch* sc,
                               std::vector<uint32_t>* ids, std::vector<float>* scores,
                               IndexStats* st, ThreadPool* pool) {
  using Status = SketchSelection::Status;
  SketchSelection out;
  sc->ub.resize(visible);
  float U = 0.0f;
  double tiny = 0.0;
  if (visible == 0 ||
      !index.KeyBounds(std::span<const float>(q, d), visible, sc->ub.data(), &U, &tiny, st) ||
      !std::isfinite(U)) {
    return out;  // kUnsupported
  }
  constexpr size_t K = kCertBuckets;
  sc->bucket.resize(visible);
  sc->sums.assign(K + 1, 0.0);
  sc->counts.assign(K + 1, 0);
  // Blocks of kCertBucketTask keys, each into its own sums / counts, merged in block order (the
  // sums' rounding bound in softmax_cert.h holds for any order of the double additions).
  const size_t blocks = (visible + kCertBucketTask - 1) / kCertBucketTask;
  sc->block_sums.assign(blocks * (K + 1), 0.0);
  sc->block_counts.assign(blocks * (K + 1), 0);
  auto bucket_block = [&](size_t blk, size_t /*thread*/) {
    const size_t begin = blk * kCertBucketTask;
    kern.bound_buckets(sc->ub.data() + begin, std::min(kCertBucketTask, visible - begin), U,
                       sc->bucket.data() + begin, sc->block_sums.data() + blk * (K + 1),
                       sc->block_counts.data() + blk * (K + 1));
  };
  if (pool != nullptr && pool->NumThreads() > 1 && blocks > 1) {
    pool->Run(blocks, bucket_block);
  } else {
    for (size_t blk = 0; blk < blocks; ++blk) bucket_block(blk, 0);
  }
  for (size_t blk = 0; blk < blocks; ++blk) {
    for (size_t c = 0; c <= K; ++c) {
      sc->sums[c] += sc->block_sums[blk * (K + 1) + c];
      sc->counts[c] += sc->block_counts[blk * (K + 1) + c];
    }
  }
  // suffix[c] >= sum of e^(ub_j + tiny - U) over the keys in buckets >= c (margin in the header).
  sc->suffix.assign(K + 2, 0.0);
  for (size_t c = K + 1; c-- > 0;) sc->suffix[c] = sc->suffix[c + 1] + sc->sums[c] * kCertTailMargin;
  std::vector<size_t> prefix(K + 2, 0);  // keys in buckets < c
  for (size_t c = 0; c <= K; ++c) prefix[c + 1] = prefix[c] + sc->counts[c];
  const double ratio = target / (1.0 - target) * (1.0 - 1e-12);
  // Round 0: Z_S estimated from the bounds (over-estimates it, so this under-takes).
  size_t c0 = 1;
  double z_ub = sc->sums[0];
  while (c0 <= K && !(sc->suffix[c0] <= ratio * z_ub)) z_ub += sc->sums[c0++];
  auto too_many = [&](size_t c) {
    return static_cast<double>(prefix[c]) > kCertMaxKeptFrac * static_cast<double>(visible);
  };
  if (too_many(c0)) {
    out.status = Status::kFallback;
    return out;
  }
  ids->clear();
  kern.select_buckets(sc->bucket.data(), nullptr, visible, 0, static_cast<uint32_t>(c0), ids);
  scores->resize(ids->size());
  kern.score_ids(q, k, d, ids->data(), ids->size(), scale, scores->data());
  double z = 0.0;
  for (float s : *scores) z += std::exp(static_cast<double>(s) - U);
  out.rounds = 1;
  // Round 1: the fewest further buckets with D <= E / (1 - E) Z_S (exact Z_S, which only grows).
  size_t c1 = c0;
  const double z_low = z * (1.0 - 0x1p-40);
  while (c1 <= K && !(sc->suffix[c1] <= ratio * z_low)) ++c1;
  if (too_many(c1)) {
    out.status = Status::kFallback;
    return out;
  }
  // Keys in buckets [c0, c1) join S; beta = the largest bound left out.
  sc->more_ids.clear();
  const float beta = kern.select_buckets(sc->bucket.data(), sc->ub.data(), visible,
                                         static_cast<uint32_t>(c0), static_cast<uint32_t>(c1),
                                         &sc->more_ids);
  if (!sc->more_ids.empty()) {
    out.rounds = 2;
    sc->more_scores.resize(sc->more_ids.size());
    kern.score_ids(q, k, d, sc->more_ids.data(), sc->more_ids.size(), scale,
                   sc->more_scores.data());
    for (float s : sc->more_scores) z += std::exp(static_cast<double>(s) - U);
    ids->insert(ids->end(), sc->more_ids.begin(), sc->more_ids.end());
    scores->insert(scores->end(), sc->more_scores.begin(), sc->more_scores.end());
  }
  out.eps_sketch = CertEps(sc->suffix[c1], z * (1.0 - 0x1p-40));
  if (!(out.eps_sketch <= target) || ids->empty()) {
    out.status = Status::kFallback;  // not expected (the choice of c1 guarantees it); counted
    return out;
  }
  double m = -std::numeric_limits<double>::infinity();
  for (float s : *scores) m = std::max(m, static_cast<double>(s));
  out.m = m;
  out.tau = beta;
  const double r = static_cast<double>(visible - ids->size());
  if (r > 0.0) {
    // Z_S relative to M: z e^(U - M); every dropped score <= beta + tiny.
    const double zm = z * std::exp(static_cast<double>(U) - m);
    out.eps_tau = CertEps(r * std::exp(static_cast<double>(beta) + tiny - m), zm);
  }
  out.status = Status::kSelected;
  return out;
}

}  // namespace hsr
