// The softmax certificate of an HSR output row (docs/design.md §1), defined once here: on column c,
//   |out_c - exact_c| <= 2 eps_r max_{j visible} |v_jc|,
// eps_r the row's certificate (HsrRowStats::eps): the weights renormalised over the kept keys
// and the exact weights differ by at most 2 eps_r in total (L1), each multiplying a value of
// column c, |v_jc| <= max_j |v_jc|. The check adds, per element, twice the oracle's derived
// float32 tolerance of a dense run (HSR sums twice: once over S, once in the certificate's
// normaliser) and requires 0 <= eps_r <= 1. Used by the property tests (verify/tests/hsr_props.cc,
// cert_checks.h), by `hsr verify` (sim/suite/verify_suite.cc) for hsr-cpu softmax, and by the
// bench's err_over_cert_max column (sim/bench/backends.cc).
#pragma once

#include <cstddef>
#include <span>
#include <string>

#include "core/attention/kv_cache.h"
#include "core/hsr/decode_engine.h"
#include "core/tensor/view.h"
#include "verify/oracle.h"

namespace hsr::verify {

// bound[c] = 2 eps max_{j < visible} |v(j, c)| for every column c of v (bound.size() == v.cols,
// visible <= v.rows): the certificate's bound on one row's error.
void CertificateBounds(ConstMatrixView v, size_t visible, double eps, std::span<double> bound);

// The bound one element is held to: the certificate's bound on it plus twice the oracle's
// derived float32 tolerance of a dense run (this file's first comment). Without the tolerance,
// a row whose eps is below float32 rounding (e.g. a causal row whose few unreported keys score
// far below b) reads as violated by its rounding alone.
double CheckedBound(double cert_bound, double dense_tolerance);

// err / bound, the measured error over the certified one (<= 1: the certificate holds); 0 when
// err is 0, Inf when only the bound is 0.
double CertificateRatio(double err, double bound);

struct CertCheck {
  bool ok = true;
  size_t rows = 0;     // rows checked
  std::string detail;  // the first failing row: where, got, want, |err|, bound, eps, |S|
};

// out [Hq, m, dv]; rows: Hq * m row stats (index h * m + i); query head h reads kv head
// h / group. err_target > 0 also requires eps_r <= err_target on non-fallback rows.
CertCheck CheckSoftmaxCertificate(const Oracle& oracle, const KvCache& kv, size_t group,
                                  ConstHeadsView out, std::span<const HsrRowStats> rows,
                                  double err_target = 0.0);

}  // namespace hsr::verify
