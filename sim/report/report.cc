#include "sim/report/report.h"

#include <filesystem>
#include <fstream>
#include <optional>

#include <fmt/format.h>

#include "core/base/error.h"
#include "sim/machine/build_info.h"
#include "sim/report/analysis.h"
#include "sim/report/inspect_section.h"
#include "sim/report/tables.h"

namespace hsr::sim {
namespace {

namespace fs = std::filesystem;

std::string FigureSection(const PlotResult* plots, const std::string& plots_message) {
  std::string out = "## Figures\n\n";
  if (!plots) return out + "Not drawn (--no-plots).\n\n";
  if (!plots_message.empty()) {
    out += fmt::format("Plots skipped: {}. The data (`.dat`) and gnuplot scripts (`.gp`) are in "
                       "`plots/`; render them later with `cd plots && gnuplot NAME.gp`.\n\n",
                       plots_message);
  }
  if (plots->figures.empty()) return out + "No figure: no rows to draw.\n\n";
  for (const auto& f : plots->figures) {
    const std::string script = f.svg.substr(0, f.svg.size() - 4) + ".gp";
    out += fmt::format("### {}\n\n", f.title);
    if (f.rendered) {
      out += fmt::format("![{}]({})\n\n", f.title, f.svg);
    } else if (plots_message.empty()) {
      out += fmt::format("(not rendered: gnuplot failed on `{}`, see the warnings)\n\n", script);
    }
    out += fmt::format("{} Data and script: `{}`.\n\n", f.caption, script);
  }
  return out;
}

}  // namespace

std::string RenderReport(const ResultSet& set, const PlotResult* plots,
                         const std::string& plots_message) {
  std::string out = "# hsr report\n\n";
  std::string dirs;
  for (const auto& d : set.dirs) dirs += (dirs.empty() ? "`" : ", `") + d + "`";
  out += fmt::format("Written by `hsr report` ({} commit {}) from {}: {} line(s) read, {} ok "
                     "row(s), {} failed point(s), {} skipped row(s), {} duplicate(s) dropped. "
                     "Times are "
                     "microseconds per query token (one call's time / m; a call covers all "
                     "heads).\n\n",
                     BuildVersion(), BuildCommit(), dirs.empty() ? "-" : dirs, set.lines_read,
                     set.rows.size(), FailedPoints(set.failed), set.skipped.size(),
                     set.duplicates_dropped);
  std::vector<std::string> warnings = set.warnings;
  if (plots) warnings.insert(warnings.end(), plots->warnings.begin(), plots->warnings.end());
  if (!plots_message.empty()) warnings.push_back(plots_message);
  if (!warnings.empty() || !set.notes.empty()) {
    out += "## Warnings and notes\n\n";
    for (const auto& w : warnings) out += fmt::format("- warning: {}\n", w);
    for (const auto& n : set.notes) out += fmt::format("- note: {}\n", n);
    out += "\n";
  }
  const auto time = BuildTimeSeries(set.rows);
  const auto reported = BuildReportedSeries(set.rows);
  out += MachineSection(set);
  out += ConfigurationSection(set);
  out += SpeedupSection(set.rows);
  out += ErrorSection(set.rows);
  out += InspectSection(set);
  out += TargetSection(BuildTargetComparisons(set.rows), set.rows);
  out += FitSection(time, reported);
  out += FigureSection(plots, plots_message);
  out += FailedSection(set.failed);
  out += SkippedSection(set.skipped);
  return out;
}

ReportSummary WriteReport(const ReportOptions& options) {
  const ResultSet set = ReadResults(options.dirs);
  const std::string out_dir = options.out_dir.empty() ? options.dirs.front() : options.out_dir;
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  HSR_CHECK(fs::is_directory(out_dir, ec), "report: expected an output folder, got '{}' ({})",
            out_dir, ec ? ec.message() : "not a directory");

  ReportSummary sum;
  std::optional<PlotResult> plots;
  if (options.plots) {
    plots = WritePlots(out_dir, set.rows, BuildTimeSeries(set.rows),
                       BuildReportedSeries(set.rows), options.gnuplot);
    if (!plots->gnuplot_found) sum.plots_message = kGnuplotMissing;
    sum.figures = plots->figures.size();
    for (const auto& f : plots->figures) sum.figures_rendered += f.rendered ? 1 : 0;
  }
  const std::string text = RenderReport(set, plots ? &*plots : nullptr, sum.plots_message);
  const fs::path path = fs::path(out_dir) / "report.md";
  const fs::path tmp = fs::path(out_dir) / "report.md.tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << text;
    f.close();
    HSR_CHECK(f.good(), "report: expected to write {}, got an I/O error", tmp.string());
  }
  fs::rename(tmp, path, ec);
  HSR_CHECK(!ec, "report: expected to rename {} to report.md, got {}", tmp.string(), ec.message());

  sum.report_path = path.string();
  sum.rows = set.rows.size();
  sum.failed = FailedPoints(set.failed);
  sum.lines_read = set.lines_read;
  sum.duplicates_dropped = set.duplicates_dropped;
  sum.warnings = set.warnings;
  if (plots) {
    sum.warnings.insert(sum.warnings.end(), plots->warnings.begin(), plots->warnings.end());
  }
  sum.notes = set.notes;
  return sum;
}

}  // namespace hsr::sim
