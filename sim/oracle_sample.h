// Float64 oracle (DenseRefRow, core/attention/dense_ref.h) on a sample of query rows, and the
// error columns of a result row computed against it. The full oracle costs Hq m n (d + dv)
// float64 multiply-adds, too slow for large benchmarks, so at most `budget_macs` are spent:
// all rows when they fit, else evenly spaced rows over [0, Hq m) (always at least one).
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

#include "core/attention/kv_cache.h"
#include "core/attention/params.h"
#include "core/tensor/view.h"

namespace hsr::sim {

struct OracleSample {
  size_t dv = 0, m = 0, total_rows = 0;     // total_rows = Hq * m
  std::vector<std::pair<size_t, size_t>> rows;  // (head, query row) pairs sampled
  std::vector<double> expected;             // rows.size() x dv
};

// Validates like every backend (hsr::Error). decode: causal off, else p.causal.
OracleSample ComputeOracleSample(ConstHeadsView q, const KvCache& kv, const AttentionParams& p,
                                 bool decode, double budget_macs, size_t threads);

struct SampleError {
  double max_abs_err = 0, rel_l2_err = 0;  // over every element of the sampled rows
};

// out: [Hq, m, dv] as produced by a backend. Non-finite outputs give Inf.
SampleError CompareToSample(const OracleSample& sample, ConstHeadsView out);

}  // namespace hsr::sim
