#include "sim/peers/dense_blas.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/attention/validate.h"
#include "core/base/error.h"

// cblas.h is OpenBLAS' (sim/CMakeLists.txt), which also declares openblas_set_num_threads and
// openblas_get_corename.

namespace hsr {
namespace {

constexpr size_t kBlockRows = 256;

// Turns scores s[0, visible) into weights relative to the row maximum (params.h); returns
// the weight sum, or 0 for an empty row (then s is all zeros).
double Weights(float* s, size_t visible, AttentionKind kind, int alpha, float threshold) {
  if (visible == 0) return 0.0;
  double denom = 0.0;
  if (kind == AttentionKind::kSoftmax) {
    float mx = s[0];
    for (size_t j = 1; j < visible; ++j) mx = std::max(mx, s[j]);
    for (size_t j = 0; j < visible; ++j) {
      s[j] = std::exp(s[j] - mx);
      denom += s[j];
    }
    return denom;
  }
  float top = 0.0f;
  for (size_t j = 0; j < visible; ++j) top = std::max(top, s[j] - threshold);
  if (!(top > 0.0f)) {
    std::fill(s, s + visible, 0.0f);
    return 0.0;
  }
  const float inv_top = 1.0f / top;
  for (size_t j = 0; j < visible; ++j) {
    const float x = s[j] - threshold;
    float w = 0.0f;
    if (x > 0.0f) {
      const float r = std::min(x * inv_top, 1.0f);
      w = r;
      for (int a = 1; a < alpha; ++a) w *= r;
    }
    s[j] = w;
    denom += w;
  }
  return denom;
}

int Int(size_t x, std::string_view what) {
  HSR_CHECK(x <= 0x7fffffffu, "dense-blas: expected {} <= 2^31-1 (CBLAS int), got {}", what, x);
  return static_cast<int>(x);
}

}  // namespace

std::string DenseBlasCoreName() {
  const char* name = openblas_get_corename();
  return name ? std::string(name) : std::string("unknown");
}

DenseBlasBackend::DenseBlasBackend(size_t threads) : threads_(threads) {
  HSR_CHECK(threads >= 1, "dense-blas: expected threads >= 1, got {}", threads);
}

void DenseBlasBackend::Decode(ConstHeadsView q, const KvCache& kv, const AttentionParams& p,
                              HeadsView out, AttentionStats* stats) {
  Run("dense-blas Decode", q, kv, p, out, stats);
}

void DenseBlasBackend::Prefill(ConstHeadsView q, const KvCache& kv, const AttentionParams& p,
                               HeadsView out, AttentionStats* stats) {
  Run("dense-blas Prefill", q, kv, p, out, stats);
}

void DenseBlasBackend::Run(std::string_view where, ConstHeadsView q, const KvCache& kv,
                           const AttentionParams& p, HeadsView out, AttentionStats* stats) {
  ValidateAttention(where, q, kv, p, out);
  const size_t hq = q.heads, m = q.rows, n = kv.n(), d = q.cols, dv = kv.dv();
  if (m == 0) return;
  const size_t group = hq / kv.heads();
  const float scale = p.ScaleFor(d);
  openblas_set_num_threads(Int(threads_, "threads"));
  const int id = Int(d, "d"), idv = Int(dv, "dv");
  Int(n, "n");

  // Scratch, once per call: scores/weights [rows, n] and the block's weight sums.
  const size_t block = std::min(m, kBlockRows);
  std::vector<float> s(block * std::max<size_t>(n, 1));
  std::vector<double> denom(block);
  AttentionStats local;

  for (size_t h = 0; h < hq; ++h) {
    const ConstMatrixView qh = q.Head(h);
    const ConstMatrixView kh = kv.k().Head(h / group);
    const ConstMatrixView vh = kv.v().Head(h / group);
    const MatrixView oh = out.Head(h);
    for (size_t i0 = 0; i0 < m; i0 += block) {
      const size_t rows = std::min(block, m - i0);
      // Keys the block's last row sees: the block's GEMMs run over [0, cols).
      const size_t cols = VisibleKeys(p.causal, i0 + rows - 1, m, n);
      const size_t ld = std::max<size_t>(cols, 1);
      if (cols > 0) {
        if (rows == 1) {
          cblas_sgemv(CblasRowMajor, CblasNoTrans, Int(cols, "n"), id, scale, kh.data,
                      Int(kh.stride, "stride"), qh.Row(i0), 1, 0.0f, s.data(), 1);
        } else {
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int(rows, "rows"),
                      Int(cols, "n"), id, scale, qh.Row(i0), Int(qh.stride, "stride"), kh.data,
                      Int(kh.stride, "stride"), 0.0f, s.data(), Int(ld, "n"));
        }
      }
      for (size_t r = 0; r < rows; ++r) {
        const size_t i = i0 + r;
        const size_t visible = VisibleKeys(p.causal, i, m, n);
        float* sr = s.data() + r * ld;
        denom[r] = Weights(sr, visible, p.kind, p.alpha, p.ThresholdFor(h, m, i));
        // Keys beyond this row's causal limit (inside the block's prefix) get weight 0.
        std::fill(sr + visible, sr + cols, 0.0f);
        local.queries += 1;
        local.keys_scored += visible;
        local.empty_rows += denom[r] > 0.0 ? 0 : 1;
      }
      if (cols > 0) {
        if (rows == 1) {
          cblas_sgemv(CblasRowMajor, CblasTrans, Int(cols, "n"), idv, 1.0f, vh.data,
                      Int(vh.stride, "stride"), s.data(), 1, 0.0f, oh.Row(i0), 1);
        } else {
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int(rows, "rows"), idv,
                      Int(cols, "n"), 1.0f, s.data(), Int(ld, "n"), vh.data,
                      Int(vh.stride, "stride"), 0.0f, oh.Row(i0), Int(oh.stride, "stride"));
        }
      }
      for (size_t r = 0; r < rows; ++r) {
        float* o = oh.Row(i0 + r);
        if (!(denom[r] > 0.0) || cols == 0) {
          std::fill(o, o + dv, 0.0f);
          continue;
        }
        const float inv = static_cast<float>(1.0 / denom[r]);
        for (size_t c = 0; c < dv; ++c) o[c] *= inv;
      }
    }
  }
  if (stats) stats->Merge(local);
}

}  // namespace hsr
