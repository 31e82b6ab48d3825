// Power-law fits for reports: y = c * x^slope by least squares on (ln x, ln y), with a 95%
// confidence interval for the slope from Student's t on its standard error.
//
// The interval measures how well ONE power law fits these points (residual scatter around
// the line), not run-to-run timing noise; with curvature (e.g. a cache edge inside the n range)
// it widens. Tested in sim/report/report_test.cc.
#pragma once

#include <cstddef>
#include <optional>
#include <span>

namespace hsr::sim {

struct PowerFit {
  double slope = 0;        // exponent
  double intercept = 0;    // ln c
  double slope_se = 0;     // standard error of the slope (0 with 2 points or an exact fit)
  double ci95 = 0;         // half-width: slope +- ci95 is the 95% interval
  size_t points = 0;       // (x, y) pairs used (x > 0 and y > 0, finite)
  size_t distinct_x = 0;   // distinct x values among them
  double x_min = 0, x_max = 0;
};

// Two-sided 95% quantile of Student's t with `df` >= 1 degrees of freedom (t_{0.975, df}):
// a table to df = 30, the Cornish-Fisher expansion beyond (error < 1e-4 there).
double StudentT975(size_t df);

// Fits ln y = intercept + slope ln x over the pairs with finite x > 0 and y > 0 (others are
// ignored). Needs at least `min_distinct_x` (>= 3) distinct x values, so that the slope has
// at least one degree of freedom for its error; otherwise std::nullopt.
// xs and ys have the same length (hsr::Error otherwise).
std::optional<PowerFit> FitPowerLaw(std::span<const double> xs, std::span<const double> ys,
                                    size_t min_distinct_x = 3);

}  // namespace hsr::sim
