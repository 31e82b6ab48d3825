// Float64 oracle for dense attention: the expected output (DenseRefRow, dense_ref.h) plus a
// per-element tolerance DERIVED from the data (score magnitudes, d, n, alpha, |v|) that bounds
// the error of any float32 backend in the worst case. The derivation and its assumptions are
// written beside the code in oracle.cc. No test framework here; properties use it in
// verify/tests/ (dense_props.cc, oracle_props.cc).
//
// Layouts follow backend.h: q [Hq, m, d], kv [Hkv, n, d] / [Hkv, n, dv], outputs [Hq, m, dv].
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "core/attention/kv_cache.h"
#include "core/attention/params.h"
#include "core/tensor/view.h"

namespace hsr::verify {

// Result of comparing one output tensor against the oracle, element by element.
struct Comparison {
  bool ok = true;             // every element within its tolerance, none NaN/Inf
  double max_abs_err = 0.0;   // max |actual - expected| (Inf when a value is non-finite)
  double rel_l2_err = 0.0;    // ||actual - expected||_2 / ||expected||_2 (0 when both are 0)
  // At the worst element: the one with the largest |err| / tolerance (the first non-finite
  // value if there is one).
  double tolerance = 0.0, expected = 0.0, actual = 0.0;
  size_t worst_head = 0, worst_row = 0, worst_col = 0;
  size_t checked = 0;  // elements compared

  // One line: "ok|FAIL worst [h,i,c] expected .. actual .. |err| .. tol .. ; max_abs_err ..".
  std::string Describe() const;
};

// The oracle of one attention call. Build once, compare many outputs (e.g. one per Highway
// target). The causal mask from p (the same for Decode and Prefill, backend.h).
// Throws hsr::Error on invalid inputs (same validation as every backend).
class Oracle {
 public:
  Oracle(ConstHeadsView q, const KvCache& kv, const AttentionParams& p);

  // actual must be [Hq, m, dv] (else hsr::Error); any stride.
  Comparison Compare(ConstHeadsView actual) const;

  size_t heads() const { return heads_; }
  size_t rows() const { return rows_; }
  size_t cols() const { return cols_; }
  double Expected(size_t h, size_t i, size_t c) const { return expected_[Index(h, i, c)]; }
  // 0 where the output must be exactly 0 (no visible key, or no key can get a positive weight).
  double Tolerance(size_t h, size_t i, size_t c) const { return tolerance_[Index(h, i, c)]; }
  size_t empty_rows() const { return empty_rows_; }              // oracle rows with no weight
  size_t ambiguous_rows() const { return ambiguous_rows_; }      // rows that may flip empty

 private:
  size_t Index(size_t h, size_t i, size_t c) const { return (h * rows_ + i) * cols_ + c; }

  size_t heads_ = 0, rows_ = 0, cols_ = 0;
  std::vector<double> expected_, tolerance_;
  size_t empty_rows_ = 0, ambiguous_rows_ = 0;
};

// One oracle row: the float64 expected output (DenseRefRow, dense_ref.h) of query row i of head
// q_head (of m rows) over the first `visible` keys of k / v, and its derived tolerance (the error
// model in oracle.cc): tol[c] bounds |actual - expected| of any float32 backend. Threshold and
// scale come from p. The Oracle class and the bench's sampled oracle (verify/oracle_sample.h)
// both build their rows here.
struct OracleRowResult {
  bool nonempty = false;   // some key has a positive weight in float64
  size_t weighted = 0;     // keys with a positive float64 weight (0 when empty)
  bool ambiguous = false;  // ReLU row whose float32 weights may all but vanish or flip (a score
                           // within rounding of b decides whether it is empty): only the hull
                           // bound holds, the output may jump by a whole value row
};
OracleRowResult OracleRow(std::span<const float> q, ConstMatrixView k, ConstMatrixView v,
                          size_t visible, const AttentionParams& p, size_t q_head, size_t m,
                          size_t i, double max_abs_k, std::span<double> expected,
                          std::span<double> tol);

// Oracle(q, kv, p).Compare(actual).
Comparison CompareToOracle(ConstHeadsView q, const KvCache& kv, const AttentionParams& p,
                           ConstHeadsView actual);

// max |x| over every element (NaN if any element is NaN); 0 for an empty view.
double MaxAbs(ConstHeadsView x);

}  // namespace hsr::verify
