#include "verify/cert_check.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <fmt/format.h>

#include "core/base/error.h"

namespace hsr::verify {

void CertificateBounds(ConstMatrixView v, size_t visible, double eps, std::span<double> bound) {
  HSR_CHECK(bound.size() == v.cols && visible <= v.rows,
            "certificate bounds: expected {} columns and visible <= {}, got {} and {}", v.cols,
            v.rows, bound.size(), visible);
  std::fill(bound.begin(), bound.end(), 0.0);
  for (size_t j = 0; j < visible; ++j) {
    for (size_t c = 0; c < v.cols; ++c) bound[c] = std::max(bound[c], std::fabs(double{v(j, c)}));
  }
  for (double& b : bound) b *= 2.0 * eps;
}

double CheckedBound(double cert_bound, double dense_tolerance) {
  return cert_bound + 2.0 * dense_tolerance;
}

double CertificateRatio(double err, double bound) {
  return bound > 0 ? err / bound : (err > 0 ? std::numeric_limits<double>::infinity() : 0.0);
}

CertCheck CheckSoftmaxCertificate(const Oracle& oracle, const KvCache& kv, size_t group,
                                  ConstHeadsView out, std::span<const HsrRowStats> rows,
                                  double err_target) {
  CertCheck r;
  const size_t heads = oracle.heads(), m = oracle.rows(), dv = oracle.cols();
  if (rows.size() != heads * m || out.heads != heads || out.rows != m || out.cols != dv ||
      group == 0) {
    r.ok = false;
    r.detail = fmt::format("expected {} row stats and a [{}, {}, {}] output, got {} and [{}, {}, {}]",
                           heads * m, heads, m, dv, rows.size(), out.heads, out.rows, out.cols);
    return r;
  }
  std::vector<double> cert(dv);
  for (size_t h = 0; h < heads; ++h) {
    const ConstMatrixView v = kv.v().Head(h / group);
    for (size_t i = 0; i < m; ++i) {
      const HsrRowStats& s = rows[h * m + i];
      ++r.rows;
      auto fail = [&](const std::string& what) {
        r.ok = false;
        r.detail = fmt::format("row [{}, {}]: {} (eps {} tau {} |S| {} of {}, fallback {})", h, i,
                               what, s.eps, s.b, s.reported, s.visible, s.fallback);
      };
      if (!(s.eps >= 0.0 && s.eps <= 1.0)) {
        fail("expected 0 <= eps <= 1");
        return r;
      }
      if (err_target > 0.0 && !s.fallback && !(s.eps <= err_target)) {
        fail(fmt::format("expected eps <= err={}", err_target));
        return r;
      }
      CertificateBounds(v, std::min<size_t>(s.visible, v.rows), s.eps, cert);
      for (size_t c = 0; c < dv; ++c) {
        const double got = out.Head(h)(i, c);
        const double want = oracle.Expected(h, i, c);
        const double bound = CheckedBound(cert[c], oracle.Tolerance(h, i, c));
        if (!(std::fabs(got - want) <= bound)) {
          fail(fmt::format("col {}: got {} want {} |err| {} > bound {}", c, got, want,
                           std::fabs(got - want), bound));
          return r;
        }
      }
    }
  }
  return r;
}

}  // namespace hsr::verify
