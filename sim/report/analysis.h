// What `hsr report` computes from merged result rows (sim/report/rows.h), shared by its tables
// (sim/report/tables.cc) and plots (sim/report/plots.cc): labels, series across n with their
// power-law fits (sim/report/power_fit.h), and HSR-vs-dense speedups.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sim/report/power_fit.h"
#include "sim/report/rows.h"

namespace hsr::sim {

// "relu a=2" or "softmax" (attention and alpha).
std::string AttentionLabel(const ReportRow& r);
// "relu a=2, paper"; dense softmax rows (no threshold) read "softmax".
std::string ConfigLabel(const ReportRow& r);
// "hsr-cpu/sketch8" or "dense-hwy".
std::string BackendLabel(const ReportRow& r);
// "gaussian:m=1,heads=1,kv_heads=1" plus mode / causal / threads when not decode / 1 thread.
std::string GroupLabel(const ReportRow& r);

// One backend configuration across n: time per query (median_us) against n.
struct TimeSeries {
  std::string group;    // GroupLabel + ConfigLabel of the HSR rows it is plotted with
  std::string label;    // "hsr-cpu/sketch8 d=64"
  bool hsr = false;     // HSR backend (else dense or other)
  double d = 0;
  std::vector<const ReportRow*> rows;  // ascending n
  std::optional<PowerFit> fit;         // median_us vs n
  size_t distinct_n = 0;
};

// Series by (group, backend, index, d). A dense row without a threshold (softmax: dense does
// not depend on it) joins every group whose HSR rows match it in everything but the threshold.
// Groups sorted by label; within a group, dense series first, then by backend and d.
std::vector<TimeSeries> BuildTimeSeries(const std::vector<ReportRow>& rows);

// Reported keys per query (reported_mean) against n for HSR rows, by (workload family, d,
// threshold, mode, m, heads). The report set depends only on data and threshold, so rows of
// one workload and n (relu and softmax, other backends) are averaged into one point.
struct ReportedSeries {
  std::string family, label;  // label: "d=64, paper"
  double d = 0;
  std::vector<double> n, reported;  // one point per (n, workload), ascending n
  std::optional<PowerFit> fit;
  size_t distinct_n = 0;
};
std::vector<ReportedSeries> BuildReportedSeries(const std::vector<ReportRow>& rows);

// Speedup of an HSR row over dense: the row's own paired speedup when it has its interval
// (speedup_lo / speedup_hi: median of per-round ratios against speedup_vs in the same run,
// sim/bench/sampling.h); else, with a point_id, the fastest dense row of the same point (same
// run, same data); else the row's own "speedup" (vs the run's first dense backend); else
// DenseFor's row (cross_run = true: timed in another process, maybe on other data of the spec).
struct Speedup {
  double speedup = 0, dense_us = 0;
  std::string dense_backend;
  bool cross_run = false;
  std::optional<double> lo, hi;  // 95% interval of a paired speedup
  bool Straddles1() const { return lo && hi && *lo <= 1.0 && *hi >= 1.0; }
};
std::optional<Speedup> SpeedupOf(const ReportRow& hsr_row, const std::vector<ReportRow>& rows);

// The dense row paired with an HSR row: its speedup_vs backend when that row is here, else the
// fastest dense row of the same workload, shape, attention and threads (nullptr when none).
const ReportRow* DenseFor(const ReportRow& hsr_row, const std::vector<ReportRow>& rows);

// Rows of one setting timed under several Highway targets (cpu_target: the target that ran), at
// one fixed (n, d): per (GroupLabel, ConfigLabel), the largest n (then d) with >= 2 targets.
struct TargetComparison {
  std::string group, config;
  double n = 0, d = 0;
  std::vector<std::string> targets;  // best first (AVX3_DL, AVX3, AVX2, SSE4, ...)
  // BackendLabel -> (target -> row); dense backends first.
  std::vector<std::pair<std::string, std::map<std::string, const ReportRow*>>> backends;
};
std::vector<TargetComparison> BuildTargetComparisons(const std::vector<ReportRow>& rows);

// "0.78 +- 0.05 (7 pts, n 4096..262144)" or "n/a (2 n values; needs >= 3)".
std::string FitText(const std::optional<PowerFit>& fit, size_t distinct_n);

}  // namespace hsr::sim
