// Float64 oracle (DenseRefRow, core/attention/dense_ref.h) on a sample of query rows, and the
// error columns of a benchmark's result row computed against it (hsr bench, sim/bench/bench.h). The
// full oracle costs Hq m n (d + dv) float64 multiply-adds, too slow for large benchmarks, so at
// most `budget_macs` are spent: all rows when they fit, else evenly spaced rows over [0, Hq m)
// (always at least one).
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

#include "core/attention/kv_cache.h"
#include "core/attention/params.h"
#include "core/tensor/view.h"

namespace hsr::verify {

struct OracleSample {
  size_t dv = 0, m = 0, total_rows = 0;     // total_rows = Hq * m
  std::vector<std::pair<size_t, size_t>> rows;  // (head, query row) pairs sampled
  std::vector<double> expected;             // rows.size() x dv
  // The derived float32 tolerance of each expected element (verify/oracle.h), and per row
  // whether it is ambiguous (a ReLU row a score at the threshold may leave empty or not).
  std::vector<double> tolerance;            // rows.size() x dv
  std::vector<char> ambiguous;              // rows.size()
  // Per sampled row, the keys with a positive float64 weight: the value rows a dense kernel
  // that skips zero weights reads (ReLU below b; softmax every visible key).
  std::vector<size_t> weighted;             // rows.size()
};

// Validates like every backend (hsr::Error). The causal mask from p.
OracleSample ComputeOracleSample(ConstHeadsView q, const KvCache& kv, const AttentionParams& p,
                                 double budget_macs, size_t threads);

struct SampleError {
  // Over every element of the sampled rows that are not ambiguous: an ambiguous row's output
  // may legitimately jump by a whole value row when float32 and float64 round one score to
  // opposite sides of b (e.g. `paper` on a causal row with one visible key sets b to that
  // key's score), which says nothing about a backend's accuracy.
  double max_abs_err = 0, rel_l2_err = 0;
  size_t ambiguous_rows = 0;  // sampled rows left out of the two errors above
  size_t beyond_tol = 0;      // elements (all sampled rows) beyond their derived tolerance
};

// out: [Hq, m, dv] as produced by a backend. Non-finite outputs give Inf.
SampleError CompareToSample(const OracleSample& sample, ConstHeadsView out);

}  // namespace hsr::verify
