#include "verify/keys_needed.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>
#include <vector>

#include "core/attention/params.h"
#include "core/base/error.h"
#include "core/hsr/softmax_cert.h"
#include "core/hsr/sparse_kernels.h"
#include "core/index/sketch8.h"

namespace hsr::verify {

KeysNeeded KeysForError(const Sketch8Index& index, std::span<const float> q,
                        std::span<const double> exact, double target) {
  HSR_CHECK(target > 0.0 && target < 1.0, "keys for error: expected E in (0, 1), got {}", target);
  const size_t nv = exact.size();
  KeysNeeded kn;
  kn.visible = nv;
  if (nv == 0) return kn;
  std::vector<double> s(exact.begin(), exact.end());
  std::sort(s.begin(), s.end(), std::greater<>());
  const double M = s[0];
  std::vector<double> w(nv);
  for (size_t j = 0; j < nv; ++j) w[j] = std::exp(s[j] - M);
  double total = 0.0;
  for (double x : w) total += x;
  // True minimum and tau certificate, S = top k by exact score.
  kn.truth = nv;
  kn.tau = nv;
  double z = 0.0;
  for (size_t k = 1; k < nv; ++k) {
    z += w[k - 1];
    if ((total - z) <= target * total) {
      kn.truth = k;
      break;
    }
  }
  z = 0.0;
  for (size_t k = 1; k < nv; ++k) {
    z += w[k - 1];
    const double tail = static_cast<double>(nv - k) * w[k];  // tau = the (k+1)-th score
    if (tail / (z + tail) <= target) {
      kn.tau = k;
      break;
    }
  }
  // Sketch certificate, S = top k by bound.
  const std::vector<double> ub_all = index.UpperBounds(q);
  std::vector<uint32_t> order(nv);
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(),
            [&](uint32_t a, uint32_t b) { return ub_all[a] > ub_all[b]; });
  const double U = ub_all[order[0]];
  kn.sketch = nv;
  if (std::isfinite(U)) {
    std::vector<double> suffix(nv + 1, 0.0);
    for (size_t k = nv; k-- > 0;) suffix[k] = suffix[k + 1] + std::exp(ub_all[order[k]] - U);
    double zs = 0.0;
    for (size_t k = 1; k <= nv; ++k) {
      zs += std::exp(exact[order[k - 1]] - U);
      const double d = suffix[k];
      if (d <= target * (zs + d)) {
        kn.sketch = k;
        break;
      }
    }
  }
  // What the engine reads.
  const SparseKernels kern = GetSparseKernels();
  CertScratch scratch;
  std::vector<uint32_t> ids;
  std::vector<float> scores;
  kn.engine = nv;
  const SketchSelection sel = SelectBySketch(kern, index, q.data(), index.KeyData(), index.dim(),
                                             index.Scale(), nv, target, &scratch, &ids, &scores,
                                             nullptr);
  if (sel.status == SketchSelection::Status::kSelected) kn.engine = ids.size();
  return kn;
}

}  // namespace hsr::verify
