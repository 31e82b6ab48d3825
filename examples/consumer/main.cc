// A project outside hsr using the installed library (find_package(hsr), #include <hsr/hsr.h>):
// HSR ReLU^alpha decode with appends, checked against the dense float64 reference of the same
// API. Exits 1 on a mismatch and 2 on an hsr::Error, so a broken install fails loudly.
#include <hsr/hsr.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

namespace {

// Rows [r0, r1) of every head of a [heads, rows, cols] array, as [heads, r1 - r0, cols].
std::vector<float> RowsOfEachHead(const std::vector<float>& x, size_t heads, size_t rows,
                                  size_t cols, size_t r0, size_t r1) {
  std::vector<float> out;
  for (size_t h = 0; h < heads; ++h) {
    out.insert(out.end(), x.begin() + (h * rows + r0) * cols, x.begin() + (h * rows + r1) * cols);
  }
  return out;
}

// How far a float32 ReLU^alpha row may be from the float64 reference, derived (u = 2^-24,
// gamma(k) = k u / (1 - k u), Higham's bound for k roundings in any order):
//  1. A float32 score s~_j is within ds_j = scale gamma(d + 3) sum_c |q_c k_jc| of
//     s_j = scale <q, k_j> (any summation order; +3 for the scale), and x_j = s_j - b within
//     dx_j = ds_j + u (|x_j| + ds_j) (the subtraction rounds once more).
//  2. The weight w~_j HSR computes over its reported keys (s~_j > b) is then within
//     dw_j = max(0, x_j + dx_j)^alpha (1 + eta) - w_j of w_j = max(0, x_j)^alpha, where eta
//     covers the power and the scaling by the row's largest weight (2 alpha + 2 roundings, and
//     alpha + 2 more per rescale, at most |R| - 1 of them). Convexity makes the upward gap the
//     larger one, and it also covers a key within dx_j of b, reported or not: the float32 score
//     decides, and the key's weight is at most dx_j^alpha either way.
//  3. Perturbed weights move o = sum_j w_j v_j / W by at most sum_j dw_j |v_j - o| /
//     (W - sum_j dw_j) <= 2 vmax sum_j dw_j / (W - sum_j dw_j); the float32 sums over |R| keys
//     add gamma(2 |R| + 2) (vmax + |o|) <= gamma(2 |R| + 2) 2 vmax, the division 2 u vmax.
// Exactness is what keeps this small: one key wrongly in or out of R moves o by about its share
// of W, far above the bound unless its weight is below the rounding of the others.
double ReluTolerance(const float* q, const float* k, const float* v, size_t n, size_t d,
                     size_t dv, double scale, double b, int alpha, size_t reported) {
  const double u = std::ldexp(1.0, -24);
  const auto gamma = [u](double k) { return k * u / (1.0 - k * u); };
  const double r = static_cast<double>(reported);
  const double eta = std::expm1(std::log1p(gamma(2.0 * alpha + 2)) +
                                std::max(r - 1, 0.0) * std::log1p(gamma(alpha + 2.0)));
  double w_sum = 0, dw_sum = 0, vmax = 0;
  for (size_t j = 0; j < n; ++j) {
    double dot = 0, abs_dot = 0;
    for (size_t c = 0; c < d; ++c) {
      dot += static_cast<double>(q[c]) * k[j * d + c];
      abs_dot += std::fabs(static_cast<double>(q[c]) * k[j * d + c]);
    }
    const double x = scale * dot - b;
    const double ds = scale * gamma(static_cast<double>(d) + 3) * abs_dot;
    const double dx = ds + u * (std::fabs(x) + ds);
    const double w = std::pow(std::max(0.0, x), alpha);
    const double w_hat = std::pow(std::max(0.0, x + dx), alpha) * (1 + eta);
    w_sum += w;
    dw_sum += w_hat - w;
    if (w_hat > 0) {
      for (size_t c = 0; c < dv; ++c) vmax = std::max(vmax, std::fabs(double{v[j * dv + c]}));
    }
  }
  if (w_sum + dw_sum == 0) return 0.0;  // no key can get a weight: exact zeros
  // W <= sum dw: only the hull bound (o is a convex combination of those v_j, or 0).
  const double perturbation = w_sum > dw_sum ? 2 * vmax * dw_sum / (w_sum - dw_sum) : 2 * vmax;
  return (perturbation + gamma(2 * r + 2) * 2 * vmax + 2 * u * vmax) * (1 + std::ldexp(1.0, -20));
}

}  // namespace

int main() {
  const size_t kv_heads = 2, heads = 4, n0 = 4096, tokens = 16, m = 2, d = 64, dv = 64;
  const size_t n = n0 + tokens;
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> k(kv_heads * n * d), v(kv_heads * n * dv), q(heads * m * d);
  for (float& x : k) x = normal(rng);
  for (float& x : v) x = normal(rng);
  for (float& x : q) x = 1.5f * normal(rng);
  try {
    hsr::Options options;
    options.attention = hsr::Attention::kRelu;
    options.alpha = 2;
    options.threshold = "paper";
    // The cache holds the first n0 tokens; then `tokens` more are generated, one Append each.
    const std::vector<float> k0 = RowsOfEachHead(k, kv_heads, n, d, 0, n0);
    const std::vector<float> v0 = RowsOfEachHead(v, kv_heads, n, dv, 0, n0);
    hsr::DecodeSession session({k0.data(), kv_heads, n0, d}, {v0.data(), kv_heads, n0, dv},
                               options);
    for (size_t t = n0; t < n; ++t) {
      session.Append(RowsOfEachHead(k, kv_heads, n, d, t, t + 1),
                     RowsOfEachHead(v, kv_heads, n, dv, t, t + 1));
    }
    std::vector<float> out(heads * m * dv);
    const hsr::Stats st = session.Decode({q.data(), heads, m, d}, {out.data(), heads, m, dv});
    const std::vector<double> ref = hsr::DenseReference(
        {q.data(), heads, m, d}, {k.data(), kv_heads, n, d}, {v.data(), kv_heads, n, dv},
        /*causal=*/false, options);
    const double scale = 1.0 / std::sqrt(static_cast<double>(d));
    double worst = 0;  // largest |err| / tolerance
    bool ok = true;
    for (size_t h = 0; h < heads; ++h) {
      const size_t g = h / (heads / kv_heads);
      for (size_t i = 0; i < m; ++i) {
        const size_t row = h * m + i;
        const double tol = ReluTolerance(&q[row * d], &k[g * n * d], &v[g * n * dv], n, d, dv,
                                         scale, st.rows[row].threshold, options.alpha,
                                         st.rows[row].reported);
        for (size_t c = 0; c < dv; ++c) {
          const double err = std::fabs(out[row * dv + c] - ref[row * dv + c]);
          ok = ok && err <= tol;
          worst = std::max(worst, tol > 0 ? err / tol : (err > 0 ? INFINITY : 0.0));
        }
      }
    }
    std::printf("hsr consumer: ReLU^%d decode, %zu query heads / %zu kv heads, n = %zu + %zu "
                "appended, d = %zu: %llu of %zu keys reported per row on average, %llu "
                "candidates, %.1f KiB read; max |err| / derived tolerance = %.3g -> %s\n",
                options.alpha, heads, kv_heads, n0, tokens, d,
                static_cast<unsigned long long>(st.reported / st.rows.size()), n,
                static_cast<unsigned long long>(st.candidates / st.rows.size()),
                static_cast<double>(st.bytes) / 1024.0, worst, ok ? "ok" : "MISMATCH");
    return ok ? 0 : 1;
  } catch (const hsr::Error& e) {
    std::fprintf(stderr, "hsr consumer: %s\n", e.what());
    return 2;
  }
}
