// SparseKernels: the per-target kernels of HSR attention (score-inl.h, gather-inl.h,
// cert-inl.h), chosen once per API call by Highway dynamic dispatch and then called from plain
// C++ worker code (the engines).
// Reference: dense_ref.cc. Test: verify/tests/hsr_props.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace hsr {

struct SparseKernels {
  // scores[j] = scale <q, K[j]> for rows [0, count) of K (stride d): core's ScoreRun.
  void (*score_run)(const float* q, const float* k, size_t d, size_t count, float scale,
                    float* scores) = nullptr;
  // scores[i] = ScoreRun(q, K[ids[i]]) for i in [0, count) (K stride d).
  void (*score_ids)(const float* q, const float* k, size_t d, const uint32_t* ids, size_t count,
                    float scale, float* scores) = nullptr;
  // acc[c] += sum_i w[i] V[ids[i]][c], c in [0, dv) (V stride dv).
  void (*gather_accumulate)(const float* v, size_t dv, const uint32_t* ids, const float* w,
                            size_t count, float* acc) = nullptr;
  // Sketch certificate buckets (cert-inl.h BoundBucketsImpl; core/hsr/softmax_cert.h).
  void (*bound_buckets)(const float* ub, size_t n, float max_ub, uint16_t* bucket, double* sums,
                        uint32_t* counts) = nullptr;
  // Appends j with lo <= bucket[j] < hi to ids; returns max ub[j] over bucket[j] >= hi (-Inf if
  // none or ub is null) (cert-inl.h SelectBucketsImpl).
  float (*select_buckets)(const uint16_t* bucket, const float* ub, size_t n, uint32_t lo,
                          uint32_t hi, std::vector<uint32_t>* ids) = nullptr;
};

// The kernels of the Highway target dispatch picks now (respects SetSupportedTargetsForTest).
SparseKernels GetSparseKernels();

}  // namespace hsr
