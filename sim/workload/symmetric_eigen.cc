#include "sim/workload/symmetric_eigen.h"

#include <algorithm>
#include <cmath>

#include "core/base/error.h"

namespace hsr::sim {

std::vector<double> SymmetricEigenvalues(std::vector<double> a, size_t d,
                                         std::vector<double>* vectors) {
  HSR_CHECK(a.size() == d * d, "SymmetricEigenvalues: expected {} elements, got {}", d * d,
            a.size());
  std::vector<double> v;  // accumulated rotations; column i: eigenvector i (with `vectors`)
  if (vectors != nullptr) {
    v.assign(d * d, 0.0);
    for (size_t i = 0; i < d; ++i) v[i * d + i] = 1;
  }
  double total = 0;
  for (double x : a) total += x * x;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0;
    for (size_t p = 0; p < d; ++p)
      for (size_t q = p + 1; q < d; ++q) off += a[p * d + q] * a[p * d + q];
    if (off <= 1e-30 * total || off == 0) break;
    for (size_t p = 0; p < d; ++p) {
      for (size_t q = p + 1; q < d; ++q) {
        const double apq = a[p * d + q];
        if (std::abs(apq) <= 1e-300) continue;
        const double theta = (a[q * d + q] - a[p * d + p]) / (2 * apq);
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::abs(theta) + std::hypot(theta, 1.0));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (size_t k = 0; k < d; ++k) {  // columns p, q
          const double akp = a[k * d + p], akq = a[k * d + q];
          a[k * d + p] = c * akp - s * akq;
          a[k * d + q] = s * akp + c * akq;
        }
        for (size_t k = 0; !v.empty() && k < d; ++k) {  // v <- v J
          const double vkp = v[k * d + p], vkq = v[k * d + q];
          v[k * d + p] = c * vkp - s * vkq;
          v[k * d + q] = s * vkp + c * vkq;
        }
        for (size_t k = 0; k < d; ++k) {  // rows p, q
          const double apk = a[p * d + k], aqk = a[q * d + k];
          a[p * d + k] = c * apk - s * aqk;
          a[q * d + k] = s * apk + c * aqk;
        }
      }
    }
  }
  std::vector<size_t> order(d);
  for (size_t i = 0; i < d; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t x, size_t y) { return a[x * d + x] > a[y * d + y]; });
  std::vector<double> ev(d);
  for (size_t i = 0; i < d; ++i) ev[i] = a[order[i] * d + order[i]];
  if (vectors != nullptr) {
    vectors->assign(d * d, 0.0);
    for (size_t i = 0; i < d; ++i)
      for (size_t k = 0; k < d; ++k) (*vectors)[i * d + k] = v[k * d + order[i]];
  }
  return ev;
}

size_t ComponentsForEnergy(const std::vector<double>& ev, double fraction) {
  double total = 0;
  for (double x : ev) total += std::max(x, 0.0);
  if (total <= 0) return 0;
  double acc = 0;
  for (size_t i = 0; i < ev.size(); ++i) {
    acc += std::max(ev[i], 0.0);
    if (acc >= fraction * total * (1 - 1e-12)) return i + 1;
  }
  return ev.size();
}

}  // namespace hsr::sim
