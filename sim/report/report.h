// hsr report: DIR/report.md (and DIR/plots/) from the result rows of one or more sweep
// folders (shards are merged; sim/report/rows.h). Sections: machine, configuration, speedup
// (HSR vs dense), errors vs the float64 oracle and the softmax certificate, fitted exponents of
// time and reported keys vs n with 95% intervals (sim/report/power_fit.h), figures drawn by gnuplot
// (sim/report/plots.h), failed points. Tests: sim/report/report_test.cc.
#pragma once

#include <string>
#include <vector>

#include "sim/report/plots.h"
#include "sim/report/rows.h"

namespace hsr::sim {

struct ReportOptions {
  std::vector<std::string> dirs;     // result folders, each with results.jsonl
  std::string out_dir;               // where report.md and plots/ go; "" = dirs[0]
  bool plots = true;                 // false: no plots/ at all
  std::string gnuplot = "gnuplot";   // program name (searched in PATH) or path
};

inline constexpr const char* kGnuplotMissing =
    "gnuplot not found: plots skipped; install gnuplot-nox";

struct ReportSummary {
  std::string report_path;            // .../report.md
  size_t rows = 0, failed = 0, lines_read = 0, duplicates_dropped = 0;  // failed: points
  std::vector<std::string> warnings;  // rows (conflicts, truncated lines) and gnuplot
  std::vector<std::string> notes;
  size_t figures = 0, figures_rendered = 0;
  std::string plots_message;          // kGnuplotMissing when plots were wanted and not drawn
};

// The Markdown text of report.md. `plots` may be null (no plots requested).
std::string RenderReport(const ResultSet& set, const PlotResult* plots,
                         const std::string& plots_message);

// Reads, merges, plots and writes report.md (atomically: a temporary file, then rename).
// Throws hsr::Error for missing folders / files and malformed lines (sim/report/rows.h).
ReportSummary WriteReport(const ReportOptions& options);

}  // namespace hsr::sim
