// Float64 oracle + derived tolerances. Reference semantics: core/attention/dense_ref.h.
// Used by verify/tests/dense_props.cc (every Highway target) and oracle_props.cc (sanity).
//
// ERROR MODEL (what a float32 backend may do; the tolerance is a worst-case bound for all of it)
//   u = 2^-24 (float32 unit roundoff), gamma(k) = k u / (1 - k u) (Higham, Thm 3.1/3.4).
//   1. Scores: any-order float32 dot product, scale applied before or after (or folded with
//      log2 e for exp2-based softmax), the scale itself possibly 1 ulp off when recomputed:
//        |ds_j| <= scale * gamma(d + 3) * sum_c |q_c k_jc|  + underflow (below).
//      gamma(d) bounds a d-term dot product in ANY summation order (pairwise, lanes, blocks,
//      FMA), so every SIMD target and blocking is covered; +3 roundings for the scale.
//   2. Softmax weights: w_j = exp(s~_j - m) with any shift m that is a running maximum of the
//      computed scores (two-pass or online), rescaled by exp(m_old - m_new) at most V - 1 times
//      on the way of any one key (V = visible keys; a rescale needs a new maximum or a merge,
//      and a key's partial state is merged at most V - 1 times). Relative to the common factor
//      exp(M~) (which cancels in o = N / L), the log-weight of key j is off by at most
//        delta_j = ds_j + gamma(2) (M - s_j + ds_max + ds_j) + V e_exp,
//      where the middle term is the rounding of the (telescoping, non-negative) arguments
//      s~_j - m and m_old - m_new (one subtraction, maybe one multiply by log2 e) and
//      e_exp = -log(1 - 4u) is the exp error per evaluation: we allow 2 ulp (<= 4u relative),
//      twice Highway's documented 1 ulp for hwy::Exp (contrib/math/math-inl.h) and above
//      glibc expf (< 1 ulp), so an exp2-based or slightly cruder exp also passes.
//      So w~_j = w_j (1 + e_j), |e_j| <= eps_j = expm1(delta_j).
//   3. ReLU^alpha: x_j = s_j - b in float32: |dx_j| <= ds_j + u (|x_j| + ds_j). The power is
//      any product chain / pow with <= 2 alpha + 2 roundings, maybe relative to a (running) top
//      x (as dense_ref does, so nothing over/underflows): eta = gamma(2 alpha + 2) plus
//      gamma(alpha + 2) per rescale, V - 1 of them at most. With x_hat = max(0, x + dx):
//        |w~_j - w_j| <= dw_j = x_hat_j^alpha (1 + eta) - w_j
//      (convexity of t^alpha makes the upward gap dominate the downward one, including keys
//      within dx_j of the threshold that flip in or out: a flipped-in weight is <= dx_j^alpha).
//   4. Output o = N / L, N = sum_j w~_j v_j, L = sum_j w~_j, any summation tree, with the
//      online rescaling of step 2: each term sees 1 product, <= V - 1 additions and <= V - 1
//      rescale multiplications: |N~ - N| <= gamma(D) sum_j w~_j |v_j|, |L~ - L| <= gamma(D) L,
//      D = 2 V + 2. This worst case grows like V u (V = 3000: 3.6e-4 relative): we keep it,
//      because it is rigorous for every order and still far below the O(1 / V) error of a
//      dropped or duplicated key for the V the properties use (a probabilistic sqrt(V) u bound
//      would be tighter but could fail on a correct kernel). Final division: 2u |o~|.
//   5. Perturbed weights, exact arithmetic: o~ - o = sum_j w_j e_j (v_j - o) / sum_j w~_j, so
//        |do_c| <= A_c = sum_j dw_j |v_jc - o_c| / (W - sum_j dw_j)      (dw_j = w_j eps_j for
//      softmax); when the denominator is not positive (ReLU row near empty) only the hull bound
//      below holds. Any output is also a convex combination of the possibly-weighted v_j, or 0
//      for a ReLU row that may be empty: |do_c| <= max(|o_c|, max_j |v_jc - o_c|) + rounding
//      (the HULL bound); the tolerance is the smaller of the two.
//   6. Underflow: exp / powers relative to the row maximum lose at most 2^-126 (flush to zero)
//      per weight and rescale; products q_c k_c (or scale q_c) lose at most 2^-126 each.
//   7. Exact zeros: a row with no visible key, or (ReLU) with x_j + dx_j <= 0 for every key,
//      must be exactly 0 (docs/design.md §1: zeros, counted in empty_rows): tolerance 0. A ReLU row
//      that is empty in float64 but where some key could round positive accepts 0 or any
//      convex combination of those keys' values (the hull bound with o = 0).
//   The oracle itself (float64) errs ~2^-29 times the float32 terms: every tolerance is
//   multiplied by (1 + 2^-20) to absorb it.
#include "verify/oracle.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <span>

#include "core/attention/dense_ref.h"
#include "core/attention/validate.h"
#include "core/base/error.h"

namespace hsr::verify {
namespace {

constexpr double kU = 0x1p-24;          // float32 unit roundoff
constexpr double kTiny = 0x1p-126;      // smallest normal float: flush-to-zero loss
constexpr double kExpRel = 4 * kU;      // 2 ulp of exp (step 2)
constexpr double kOracleSlack = 1.0 + 0x1p-20;

double Gamma(double k) { return k * kU / (1.0 - k * kU); }

struct RowInputs {
  const float* q;  // d
  ConstMatrixView k, v;
  size_t visible;
  double scale, threshold, max_abs_k;
  AttentionKind kind;
  int alpha;
};

// Fills tol[0..dv) for one row whose float64 output is o[0..dv) (see the model above); all 0
// when the row is certainly empty. Sets *ambiguous when a ReLU row may or may not be empty (or
// its weights may all but vanish) in float32, so that only the hull bound holds.
void RowTolerance(const RowInputs& in, std::span<const double> o, std::span<double> tol,
                  bool* ambiguous) {
  const size_t d = in.k.cols, dv = in.v.cols, nv = in.visible;
  std::fill(tol.begin(), tol.end(), 0.0);
  *ambiguous = false;
  if (nv == 0) return;  // step 7: exact zeros

  // Step 1: scores and their float32 error bounds.
  std::vector<double> s(nv), ds(nv);
  const double g_dot = Gamma(static_cast<double>(d) + 3.0);
  const double dd = static_cast<double>(d);
  const double underflow = kTiny * (1.0 + in.scale * dd + dd * in.max_abs_k);
  double ds_max = 0.0;
  for (size_t j = 0; j < nv; ++j) {
    const float* kj = in.k.Row(j);
    double dot = 0.0, abs_dot = 0.0;
    for (size_t c = 0; c < d; ++c) {
      const double prod = static_cast<double>(in.q[c]) * static_cast<double>(kj[c]);
      dot += prod;
      abs_dot += std::fabs(prod);
    }
    s[j] = in.scale * dot;
    ds[j] = in.scale * g_dot * abs_dot + underflow;
    ds_max = std::max(ds_max, ds[j]);
  }

  // Steps 2-3: exact weights w (normalized so the largest is 1), and their error bounds dw.
  const double vis = static_cast<double>(nv);
  std::vector<double> w(nv), dw(nv);
  double big_w = 0.0, sum_dw = 0.0;
  bool certainly_empty = false;
  if (in.kind == AttentionKind::kSoftmax) {
    const double top = *std::max_element(s.begin(), s.end());
    const double e_exp = -std::log1p(-kExpRel);
    for (size_t j = 0; j < nv; ++j) {
      w[j] = std::exp(s[j] - top);
      const double delta = ds[j] + Gamma(2) * (top - s[j] + ds_max + ds[j]) + vis * e_exp;
      dw[j] = w[j] * std::expm1(delta) + vis * kTiny;
    }
  } else {
    const double alpha = static_cast<double>(in.alpha);
    const double eta = std::expm1(std::log1p(Gamma(2 * alpha + 2)) +
                                  (vis - 1.0) * std::log1p(Gamma(alpha + 2)));
    double top = 0.0;  // largest x_j (0 if none positive) and largest possible x_j + dx_j
    double top_hat = 0.0;
    std::vector<double> x_hat(nv);
    for (size_t j = 0; j < nv; ++j) {
      const double x = s[j] - in.threshold;
      const double dx = ds[j] + kU * (std::fabs(x) + ds[j]);
      x_hat[j] = std::max(0.0, x + dx);
      top = std::max(top, x);
      top_hat = std::max(top_hat, x_hat[j]);
      s[j] = x;
    }
    if (top_hat == 0.0) {
      certainly_empty = true;  // step 7: no key can get a positive weight in float32
    } else {
      const double unit = top > 0.0 ? top : top_hat;  // normalization (cancels in o)
      for (size_t j = 0; j < nv; ++j) {
        w[j] = s[j] > 0.0 ? std::pow(s[j] / unit, alpha) : 0.0;
        dw[j] = x_hat[j] > 0.0 ? std::pow(x_hat[j] / unit, alpha) * (1.0 + eta) - w[j] + kTiny
                               : 0.0;
      }
    }
  }
  if (certainly_empty) return;
  for (size_t j = 0; j < nv; ++j) {
    big_w += w[j];
    sum_dw += dw[j];
  }

  // Steps 4-5 per output column.
  const double g_acc = Gamma(2.0 * vis + 2.0);
  const bool perturbation_ok = big_w - sum_dw > 0.0;
  *ambiguous = in.kind == AttentionKind::kRelu && !perturbation_ok;
  const double denom = big_w - sum_dw;
  std::vector<double> a(dv, 0.0), s1(dv, 0.0), hull(dv, 0.0), vmax(dv, 0.0);
  for (size_t j = 0; j < nv; ++j) {
    if (w[j] == 0.0 && dw[j] == 0.0) continue;  // key certainly excluded (ReLU)
    const float* vj = in.v.Row(j);
    for (size_t c = 0; c < dv; ++c) {
      const double vc = static_cast<double>(vj[c]);
      const double dev = std::fabs(vc - o[c]);
      a[c] += dw[j] * dev;
      s1[c] += (w[j] + dw[j]) * std::fabs(vc);
      hull[c] = std::max(hull[c], dev);
      vmax[c] = std::max(vmax[c], std::fabs(vc));
    }
  }
  for (size_t c = 0; c < dv; ++c) {
    const double oc = std::fabs(o[c]);
    // Hull bound: any convex combination of the weighted keys, or 0 for a ReLU row that may be
    // empty; plus the accumulation and final rounding of that combination.
    const double hull_dev = in.kind == AttentionKind::kRelu ? std::max(hull[c], oc) : hull[c];
    const double hull_tol = hull_dev + (g_acc / (1.0 - g_acc) + 2 * kU) * 2.0 * vmax[c];
    double t = hull_tol;
    if (perturbation_ok) {
      const double ac = a[c] / denom;
      const double bc = g_acc / (1.0 - g_acc) * (s1[c] / denom + oc + ac);
      const double tc = ac + bc + 2 * kU * (oc + ac + bc);
      t = std::min(t, tc);
    }
    tol[c] = t * kOracleSlack;
  }
}

}  // namespace

Oracle::Oracle(ConstHeadsView q, const KvCache& kv, const AttentionParams& params) {
  heads_ = q.heads;
  rows_ = q.rows;
  cols_ = kv.dv();
  // Shape-only output view for validation; nothing is written through it.
  static float dummy = 0.0f;
  ValidateAttention("Oracle", q, kv, params,
                    HeadsView(rows_ == 0 ? nullptr : &dummy, heads_, rows_, cols_, cols_, 0));
  expected_.assign(heads_ * rows_ * cols_, 0.0);
  tolerance_.assign(heads_ * rows_ * cols_, 0.0);
  const size_t group = heads_ / kv.heads();
  const size_t n = kv.n();
  for (size_t h = 0; h < heads_; ++h) {
    const ConstMatrixView kh = kv.k().Head(h / group);
    const ConstMatrixView vh = kv.v().Head(h / group);
    for (size_t i = 0; i < rows_; ++i) {
      const OracleRowResult r =
          OracleRow(q.Head(h).RowSpan(i), kh, vh, VisibleKeys(params.causal, i, rows_, n),
                    params, h, rows_, i, static_cast<double>(kv.max_abs_k()),
                    std::span<double>(expected_.data() + Index(h, i, 0), cols_),
                    std::span<double>(tolerance_.data() + Index(h, i, 0), cols_));
      empty_rows_ += r.nonempty ? 0 : 1;
      ambiguous_rows_ += r.ambiguous ? 1 : 0;
    }
  }
}

OracleRowResult OracleRow(std::span<const float> q, ConstMatrixView k, ConstMatrixView v,
                          size_t visible, const AttentionParams& p, size_t q_head, size_t m,
                          size_t i, double max_abs_k, std::span<double> expected,
                          std::span<double> tol) {
  HSR_CHECK(q.size() == k.cols && expected.size() == v.cols && tol.size() == v.cols &&
                visible <= k.rows && visible <= v.rows,
            "OracleRow: expected q of {} and rows of {} values, got {}, {} and {}", k.cols,
            v.cols, q.size(), expected.size(), tol.size());
  const double threshold = p.ThresholdFor(q_head, m, i);
  const double scale = p.ScaleFor(q.size());
  OracleRowResult r;
  r.weighted = DenseRefRow(q, k, v, visible, p.kind, p.alpha, threshold, scale, expected);
  r.nonempty = r.weighted > 0;
  const RowInputs in{q.data(), k, v, visible, scale, threshold, max_abs_k, p.kind, p.alpha};
  RowTolerance(in, expected, tol, &r.ambiguous);
  return r;
}

Comparison Oracle::Compare(ConstHeadsView actual) const {
  HSR_CHECK(actual.heads == heads_ && actual.rows == rows_ && actual.cols == cols_,
            "Oracle::Compare: expected output [{}, {}, {}], got [{}, {}, {}]", heads_, rows_,
            cols_, actual.heads, actual.rows, actual.cols);
  Comparison r;
  double worst_ratio = -1.0, err2 = 0.0, ref2 = 0.0;
  bool nonfinite = false;
  const auto set_worst = [&](size_t h, size_t i, size_t c, double a) {
    r.tolerance = tolerance_[Index(h, i, c)];
    r.expected = expected_[Index(h, i, c)];
    r.actual = a;
    r.worst_head = h;
    r.worst_row = i;
    r.worst_col = c;
  };
  for (size_t h = 0; h < heads_; ++h) {
    for (size_t i = 0; i < rows_; ++i) {
      const float* row = actual.Head(h).Row(i);
      for (size_t c = 0; c < cols_; ++c) {
        ++r.checked;
        const double a = static_cast<double>(row[c]);
        if (!std::isfinite(a)) {  // NaN / Inf: fails; the first one is the reported position
          if (!nonfinite) set_worst(h, i, c, a);
          nonfinite = true;
          r.ok = false;
          continue;
        }
        const double e = expected_[Index(h, i, c)];
        const double t = tolerance_[Index(h, i, c)];
        const double err = std::fabs(a - e);
        if (!(err <= t)) r.ok = false;
        r.max_abs_err = std::max(r.max_abs_err, err);
        err2 += err * err;
        ref2 += e * e;
        const double ratio =
            err == 0.0 ? 0.0 : (t > 0.0 ? err / t : std::numeric_limits<double>::max());
        if (!nonfinite && ratio > worst_ratio) {
          worst_ratio = ratio;
          set_worst(h, i, c, a);
        }
      }
    }
  }
  constexpr double kInf = std::numeric_limits<double>::infinity();
  if (nonfinite) {
    r.max_abs_err = kInf;
    r.rel_l2_err = kInf;
  } else {
    r.rel_l2_err = ref2 > 0.0 ? std::sqrt(err2 / ref2) : (err2 > 0.0 ? kInf : 0.0);
  }
  return r;
}

std::string Comparison::Describe() const {
  return fmt::format(
      "{} worst [h={}, i={}, c={}] expected {:.9g} actual {:.9g} |err| {:.3g} tol {:.3g}; "
      "max_abs_err {:.3g} rel_l2_err {:.3g} over {} elements",
      ok ? "ok" : "FAIL", worst_head, worst_row, worst_col, expected, actual,
      std::fabs(actual - expected), tolerance, max_abs_err, rel_l2_err, checked);
}

Comparison CompareToOracle(ConstHeadsView q, const KvCache& kv, const AttentionParams& p,
                           ConstHeadsView actual) {
  return Oracle(q, kv, p).Compare(actual);
}

double MaxAbs(ConstHeadsView x) {
  double m = 0.0;
  for (size_t h = 0; h < x.heads; ++h) {
    for (size_t i = 0; i < x.rows; ++i) {
      const float* row = x.Head(h).Row(i);
      for (size_t c = 0; c < x.cols; ++c) {
        const double a = std::fabs(static_cast<double>(row[c]));
        if (std::isnan(a)) return a;
        m = std::max(m, a);
      }
    }
  }
  return m;
}

}  // namespace hsr::verify
