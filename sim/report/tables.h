// Markdown sections of report.md (hsr report): machine, configuration, speedup, errors, fitted
// exponents, failed points. Each returns a complete section ("## Title\n...") as text.
#pragma once

#include <string>
#include <vector>

#include "sim/report/analysis.h"
#include "sim/report/rows.h"

namespace hsr::sim {

// "| a | b |\n|---|---|\n| 1 | 2 |\n"; '|' inside cells is escaped.
std::string MarkdownTable(const std::vector<std::string>& header,
                          const std::vector<std::vector<std::string>>& rows);

std::string MachineSection(const ResultSet& set);
std::string ConfigurationSection(const ResultSet& set);
std::string SpeedupSection(const std::vector<ReportRow>& rows);
std::string ErrorSection(const std::vector<ReportRow>& rows);
std::string FitSection(const std::vector<TimeSeries>& time,
                       const std::vector<ReportedSeries>& reported);
std::string FailedSection(const std::vector<ReportRow>& failed);
std::string SkippedSection(const std::vector<ReportRow>& skipped);
// Time and speedup per Highway target at a fixed (n, d) (BuildTargetComparisons).
std::string TargetSection(const std::vector<TargetComparison>& comparisons,
                          const std::vector<ReportRow>& rows);

// "2.61x [2.50, 2.72]" (one row with its interval; " **~1**" when it contains 1); several rows:
// their geometric mean, "(count)" and the hull of their intervals.
std::string SpeedupText(const std::vector<Speedup>& cell);

// Geometric mean of positive values (0 when none): how cells with several rows are summarised.
double GeometricMean(const std::vector<double>& v);
// 4096 -> "2^12"; other values as "%g".
std::string NText(double n);

}  // namespace hsr::sim
