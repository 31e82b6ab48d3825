// Random attention cases: ONE generator shared by the RapidCheck properties (verify/tests/
// attention_case.h wraps it in rc::Gen, so cases shrink) and by `hsr verify` (a seeded
// std::mt19937_64 draw, so `hsr verify --seed S --cases 1` replays case S exactly).
//
// DrawAttentionCase(draw) asks its Draw for every random choice:
//   size_t Range(size_t lo, size_t hi)         uniform in [lo, hi)
//   size_t Pick(std::initializer_list<int> w)  index i with probability w[i] / sum(w)
// The shape, kind, layout (odd strides, misaligned base pointers) and threshold position are
// drawn that way; the tensor values come from a drawn seed (Gaussian, or small multiples of 1/64
// that keep dot products exact), so every case is reproducible from its Describe() line alone.
// CaseBuffers owns the tensors of one case.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/attention/backend.h"
#include "core/attention/kv_cache.h"
#include "core/attention/params.h"
#include "core/tensor/view.h"

namespace hsr::verify {

struct AttentionCase {
  size_t hq = 1, hkv = 1, m = 1, n = 0, d = 1, dv = 1;
  AttentionKind kind = AttentionKind::kSoftmax;
  int alpha = 1;
  bool causal = false, decode = true;  // Decode and Prefill both apply the causal mask
  size_t threads = 1;
  bool lattice = false;      // values k / 64, |k| <= 128, instead of N(0, 1)
  float scale = 0.0f;        // 0: default 1 / sqrt(d)
  size_t pad = 0;            // extra floats per row (stride = cols + pad), per head, at start
  double b_quantile = 0.5;   // ReLU threshold: this quantile of the row's visible scores
  bool per_query_b = false;  // one threshold per query (else the first row's for all)
  uint64_t seed = 1;

  std::string Describe() const {
    return fmt::format(
        "hq={} hkv={} m={} n={} d={} dv={} kind={} alpha={} causal={} {} threads={} values={} "
        "scale={} pad={} b_quantile={} per_query_b={} seed={}",
        hq, hkv, m, n, d, dv, ToString(kind), alpha, causal, decode ? "Decode" : "Prefill",
        threads, lattice ? "lattice/64" : "gaussian", scale == 0.0f ? "default" :
        fmt::format("{}", scale), pad, b_quantile, per_query_b, seed);
  }
};

// d weighted toward small values and toward non-multiples of 16 near vector widths.
template <class Draw>
size_t DrawHeadDim(Draw& r) {
  switch (r.Pick({5, 3, 2})) {
    case 0:
      return r.Range(1, 18);
    case 1: {
      const size_t base = r.Range(1, 17);
      const int off = static_cast<int>(r.Range(0, 3)) - 1;
      return std::min<size_t>(256, std::max<size_t>(1, 16 * base + off));
    }
    default:
      return r.Range(1, 257);
  }
}

template <class Draw>
AttentionCase DrawAttentionCase(Draw& r) {
  AttentionCase c;
  switch (r.Pick({60, 30, 4})) {
    case 0: c.n = r.Range(0, 65); break;
    case 1: c.n = r.Range(65, 301); break;
    default: c.n = r.Range(301, 3001); break;
  }
  const bool large = c.n > 300;
  c.d = DrawHeadDim(r);
  c.dv = r.Pick({3, 1}) == 0 ? c.d : DrawHeadDim(r);
  if (large) {
    c.d = std::min<size_t>(c.d, 64);
    c.dv = std::min<size_t>(c.dv, 64);
  }
  c.hkv = r.Range(1, 3);
  const size_t group = r.Range(1, large ? 3 : 9);
  c.hq = c.hkv * group;
  c.m = r.Range(1, large ? 5 : 21);
  c.kind = r.Range(0, 2) == 0 ? AttentionKind::kSoftmax : AttentionKind::kRelu;
  c.alpha = static_cast<int>(r.Range(1, 7));
  c.decode = r.Range(0, 2) == 1;
  c.causal = r.Range(0, 2) == 1;  // Decode and Prefill alike
  c.threads = r.Range(1, 3);
  c.lattice = r.Pick({2, 1}) == 1;
  static constexpr float kScales[] = {0.0f, 0.125f, 1.0f};
  c.scale = kScales[r.Pick({6, 1, 1})];
  static constexpr size_t kPads[] = {0, 1, 3};
  c.pad = kPads[r.Pick({2, 2, 1})];
  if (r.Pick({3, 2}) == 0) {
    static constexpr double kQuantiles[] = {0.0, 0.5, 0.9, 0.99, 1.0};
    c.b_quantile = kQuantiles[r.Range(0, 5)];
  } else {
    c.b_quantile = static_cast<double>(r.Range(0, 1001)) / 1000.0;
  }
  c.per_query_b = r.Range(0, 2) == 1;
  c.seed = r.Range(1, size_t{1} << 30);
  return c;
}

// Draw backed by a seeded std::mt19937_64 (hsr verify).
class SeededDraw {
 public:
  explicit SeededDraw(uint64_t seed) : rng_(seed) {}
  size_t Range(size_t lo, size_t hi) {
    return std::uniform_int_distribution<size_t>(lo, hi - 1)(rng_);
  }
  size_t Pick(std::initializer_list<int> weights) {
    return std::discrete_distribution<size_t>(weights.begin(), weights.end())(rng_);
  }

 private:
  std::mt19937_64 rng_;
};

// The case `hsr verify --seed S --cases 1` checks.
inline AttentionCase SeededAttentionCase(uint64_t seed) {
  SeededDraw draw(seed);
  return DrawAttentionCase(draw);
}

// Owns Q, K, V and the output for one case; every view starts 1 float past an aligned
// allocation when pad > 0 (misaligned) and has row stride cols + pad.
class CaseBuffers {
 public:
  static constexpr float kPadSentinel = 777.0f;

  explicit CaseBuffers(const AttentionCase& c) : c_(c) {
    std::mt19937_64 rng(c.seed);
    std::normal_distribution<float> gauss(0.0f, 1.0f);
    std::uniform_int_distribution<int> lattice(-128, 128);
    const auto value = [&] {
      return c.lattice ? static_cast<float>(lattice(rng)) / 64.0f : gauss(rng);
    };
    Alloc(&q_, c.hq, c.m, c.d, value);
    Alloc(&k_, c.hkv, c.n, c.d, value);
    Alloc(&v_, c.hkv, c.n, c.dv, value);
    Alloc(&out_, c.hq, c.m, c.dv, [] { return 0.0f; });
    kv_ = KvCache(View(k_, c.hkv, c.n, c.d), View(v_, c.hkv, c.n, c.dv));
    ChooseThresholds();
  }

  ConstHeadsView Q() const { return View(q_, c_.hq, c_.m, c_.d); }
  const KvCache& Kv() const { return kv_; }
  HeadsView Out() { return MutView(out_, c_.hq, c_.m, c_.dv); }
  const AttentionParams& Params() const { return params_; }

  // Fills the whole output allocation: NaN inside the view (unwritten elements show up as NaN),
  // the sentinel in the padding.
  void ResetOut() {
    std::fill(out_.begin(), out_.end(), kPadSentinel);
    const HeadsView o = Out();
    for (size_t h = 0; h < o.heads; ++h)
      for (size_t i = 0; i < o.rows; ++i)
        std::fill_n(o.Head(h).Row(i), o.cols, std::nanf(""));
  }
  // True when nothing outside the output view was written.
  bool PaddingUntouched() {
    const HeadsView o = Out();
    std::vector<char> inside(out_.size(), 0);
    for (size_t h = 0; h < o.heads; ++h)
      for (size_t i = 0; i < o.rows; ++i)
        std::fill_n(inside.begin() + (o.Head(h).Row(i) - out_.data()), o.cols, 1);
    for (size_t x = 0; x < out_.size(); ++x) {
      if (!inside[x] && out_[x] != kPadSentinel) return false;
    }
    return true;
  }

  void Run(AttentionBackend& backend, AttentionStats* stats) {
    if (c_.decode) {
      backend.Decode(Q(), kv_, params_, Out(), stats);
    } else {
      backend.Prefill(Q(), kv_, params_, Out(), stats);
    }
  }

 private:
  size_t Stride(size_t cols) const { return cols + c_.pad; }
  size_t HeadStride(size_t rows, size_t cols) const { return rows * Stride(cols) + c_.pad; }
  size_t Offset() const { return c_.pad > 0 ? 1 : 0; }

  template <class F>
  void Alloc(std::vector<float>* buf, size_t heads, size_t rows, size_t cols, F value) {
    buf->assign(Offset() + heads * HeadStride(rows, cols) + 1, kPadSentinel);
    const HeadsView v = MutView(*buf, heads, rows, cols);
    for (size_t h = 0; h < heads; ++h)
      for (size_t r = 0; r < rows; ++r)
        for (size_t x = 0; x < cols; ++x) v.Head(h)(r, x) = value();
  }
  ConstHeadsView View(const std::vector<float>& b, size_t heads, size_t rows,
                      size_t cols) const {
    return ConstHeadsView(b.data() + Offset(), heads, rows, cols, Stride(cols),
                          HeadStride(rows, cols));
  }
  HeadsView MutView(std::vector<float>& b, size_t heads, size_t rows, size_t cols) const {
    return HeadsView(b.data() + Offset(), heads, rows, cols, Stride(cols),
                     HeadStride(rows, cols));
  }

  // ReLU thresholds at the drawn quantile of each query's visible scores (float64), so that
  // rows report none, some or all keys; quantile 1 is just above the maximum (an empty row).
  void ChooseThresholds() {
    params_.kind = c_.kind;
    params_.alpha = c_.alpha;
    params_.causal = c_.causal;
    if (c_.scale != 0.0f) params_.scale = c_.scale;
    const double scale = params_.ScaleFor(c_.d);
    const size_t group = c_.hq / c_.hkv;
    b_.assign(c_.hq * c_.m, 0.0f);
    for (size_t h = 0; h < c_.hq; ++h) {
      for (size_t i = 0; i < c_.m; ++i) {
        const size_t visible = VisibleKeys(c_.causal, i, c_.m, c_.n);
        std::vector<double> s(visible);
        for (size_t j = 0; j < visible; ++j) {
          double dot = 0.0;
          for (size_t x = 0; x < c_.d; ++x)
            dot += double{Q().Head(h)(i, x)} * double{kv_.k().Head(h / group)(j, x)};
          s[j] = scale * dot;
        }
        std::sort(s.begin(), s.end());
        float b = 0.0f;
        if (!s.empty()) {
          const size_t at = static_cast<size_t>(c_.b_quantile * static_cast<double>(visible));
          b = at >= visible ? static_cast<float>(s.back() + 1e-3) : static_cast<float>(s[at]);
        }
        b_[h * c_.m + i] = b;
      }
    }
    if (c_.per_query_b) {
      params_.b_per_query = b_;
    } else {
      params_.b = b_.empty() ? 0.0f : b_[0];
    }
  }

  AttentionCase c_;
  std::vector<float> q_, k_, v_, out_, b_;
  KvCache kv_;
  AttentionParams params_;
};

}  // namespace hsr::verify
