// Highway dispatch unit for SparseKernels (hwy/examples/skeleton.cc pattern). See
// sparse_kernels.h; kernels in gather-inl.h.
#include "core/hsr/sparse_kernels.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "core/hsr/sparse_kernels.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "core/hsr/gather-inl.h"
#include "core/hsr/cert-inl.h"

HWY_BEFORE_NAMESPACE();
namespace hsr {
namespace HWY_NAMESPACE {

void ScoreRunK(const float* q, const float* k, size_t d, size_t count, float scale,
               float* scores) {
  ScoreRun(q, k, d, d, count, scale, scores);
}
void ScoreIdsK(const float* q, const float* k, size_t d, const uint32_t* ids, size_t count,
               float scale, float* scores) {
  ScoreIds(q, k, d, ids, count, scale, [scores](size_t i, float s) { scores[i] = s; });
}
void GatherAccumulateK(const float* v, size_t dv, const uint32_t* ids, const float* w,
                       size_t count, float* acc) {
  GatherAccumulateImpl(v, dv, ids, w, count, acc);
}

void BoundBucketsK(const float* ub, size_t n, float max_ub, uint16_t* bucket, double* sums,
                   uint32_t* counts) {
  BoundBucketsImpl(ub, n, max_ub, bucket, sums, counts);
}

float SelectBucketsK(const uint16_t* bucket, const float* ub, size_t n, uint32_t lo, uint32_t hi,
                     std::vector<uint32_t>* ids) {
  return SelectBucketsImpl(bucket, ub, n, lo, hi, ids);
}

SparseKernels GetSparseKernelsT() {
  SparseKernels k;
  k.score_run = &ScoreRunK;
  k.score_ids = &ScoreIdsK;
  k.gather_accumulate = &GatherAccumulateK;
  k.bound_buckets = &BoundBucketsK;
  k.select_buckets = &SelectBucketsK;
  return k;
}

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace hsr
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace hsr {
HWY_EXPORT(GetSparseKernelsT);
SparseKernels GetSparseKernels() { return HWY_DYNAMIC_DISPATCH(GetSparseKernelsT)(); }
}  // namespace hsr
#endif  // HWY_ONCE
