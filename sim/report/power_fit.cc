#include "sim/report/power_fit.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/base/error.h"

namespace hsr::sim {

double StudentT975(size_t df) {
  HSR_CHECK(df >= 1, "StudentT975: expected df >= 1, got {}", df);
  // t_{0.975, df} for df = 1..30 (standard tables, 4 decimals).
  static constexpr double kTable[30] = {
      12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281,
      2.2010,  2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860,
      2.0796,  2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423};
  if (df <= 30) return kTable[df - 1];
  // Cornish-Fisher expansion of t in powers of 1/df around the normal quantile z
  // (Abramowitz & Stegun 26.7.5); at df = 31 its error is below 1e-5.
  const double z = 1.959963984540054;
  const double z3 = z * z * z, z5 = z3 * z * z, z7 = z5 * z * z, z9 = z7 * z * z;
  const double g1 = (z3 + z) / 4;
  const double g2 = (5 * z5 + 16 * z3 + 3 * z) / 96;
  const double g3 = (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / 384;
  const double g4 = (79 * z9 + 776 * z7 + 1482 * z5 - 1920 * z3 - 945 * z) / 92160;
  const double v = static_cast<double>(df);
  return z + g1 / v + g2 / (v * v) + g3 / (v * v * v) + g4 / (v * v * v * v);
}

std::optional<PowerFit> FitPowerLaw(std::span<const double> xs, std::span<const double> ys,
                                    size_t min_distinct_x) {
  HSR_CHECK(xs.size() == ys.size(), "FitPowerLaw: expected as many x as y values, got {} and {}",
            xs.size(), ys.size());
  min_distinct_x = std::max<size_t>(min_distinct_x, 3);
  std::vector<double> lx, ly;
  for (size_t i = 0; i < xs.size(); ++i) {
    if (std::isfinite(xs[i]) && std::isfinite(ys[i]) && xs[i] > 0 && ys[i] > 0) {
      lx.push_back(std::log(xs[i]));
      ly.push_back(std::log(ys[i]));
    }
  }
  std::vector<double> distinct = lx;
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  if (distinct.size() < min_distinct_x) return std::nullopt;

  const size_t k = lx.size();
  const double kd = static_cast<double>(k);
  double mx = 0, my = 0;
  for (size_t i = 0; i < k; ++i) {
    mx += lx[i];
    my += ly[i];
  }
  mx /= kd;
  my /= kd;
  double sxx = 0, sxy = 0;
  for (size_t i = 0; i < k; ++i) {
    sxx += (lx[i] - mx) * (lx[i] - mx);
    sxy += (lx[i] - mx) * (ly[i] - my);
  }
  PowerFit fit;
  fit.points = k;
  fit.distinct_x = distinct.size();
  fit.x_min = std::exp(distinct.front());
  fit.x_max = std::exp(distinct.back());
  fit.slope = sxy / sxx;  // sxx > 0: at least 3 distinct x
  fit.intercept = my - fit.slope * mx;
  double sse = 0;
  for (size_t i = 0; i < k; ++i) {
    const double r = ly[i] - (fit.intercept + fit.slope * lx[i]);
    sse += r * r;
  }
  const size_t df = k - 2;
  fit.slope_se = std::sqrt(sse / static_cast<double>(df) / sxx);
  fit.ci95 = StudentT975(df) * fit.slope_se;
  return fit;
}

}  // namespace hsr::sim
