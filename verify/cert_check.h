// Softmax certificate check for HSR outputs (DESIGN.md §1): on every element of a row,
//   |out - oracle| <= 2 eps_r max|v| + 2 tol,   with 0 <= eps_r <= 1,
// where eps_r is the row's certificate (HsrRowStats::eps), max|v| runs over the value rows the
// query sees and tol is the oracle's derived float32 slack for a dense run (doubled: HSR sums
// twice, once over S and once in the certificate's normaliser). Used by the property tests
// (verify/tests/hsr_props.cc) and by `hsr verify` (sim/suite/verify_suite.cc) for hsr-cpu softmax.
#pragma once

#include <cstddef>
#include <span>
#include <string>

#include "core/attention/kv_cache.h"
#include "core/hsr/decode_engine.h"
#include "core/tensor/view.h"
#include "verify/oracle.h"

namespace hsr::verify {

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
