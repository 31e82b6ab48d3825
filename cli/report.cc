// hsr report DIR [DIR2 ...]: flag parsing and printing; the work is sim::WriteReport
// (sim/report/report.h).
#include <fmt/format.h>

#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/flags.h"
#include "core/base/error.h"
#include "sim/report/report.h"

namespace hsr::cli {

int Report(const std::vector<std::string>& args) {
  po::options_description desc(
      "Usage: hsr report DIR [DIR2 ...] [flags]\n\n"
      "Reads DIR/results.jsonl (and sweep.json when present) written by hsr sweep and writes "
      "DIR/report.md with: machine and configuration; a speedup table (HSR vs dense per "
      "workload, attention, threshold, d, n); an error table (max abs and rel L2 error vs the "
      "float64 oracle, the softmax certificate eps, measured vs certified); fitted exponents of "
      "time per query and of reported keys per query vs n, +- 95% confidence interval (needs "
      ">= 3 n values); failed points. Figures (SVG, drawn by gnuplot; data and scripts kept in "
      "DIR/plots/ for re-rendering): time per query vs n (log-log, fitted slopes, lines ~ n and "
      "~ n^(4/5)), reported keys vs n, measured error vs certificate, speedup over (n, reported "
      "fraction).\n\n"
      "Several DIRs are shards of one sweep (hsr sweep --shard i/N): their rows are merged, "
      "duplicates dropped (by point_id, else by configuration; differing copies are warned "
      "about) and the report goes to the first DIR unless --out is given. A truncated last line "
      "(a sweep killed while writing) is skipped with a warning; any other malformed line is an "
      "error naming file and line.\n\n"
      "Examples:\n"
      "  hsr report runs/sweep1\n"
      "  hsr report shards/0 shards/1 shards/2 --out runs/merged\n\nFlags");
  desc.add_options()
      ("help,h", "this text")
      ("dir", po::value<std::vector<std::string>>()->value_name("DIR"),
       "result folder(s) with results.jsonl (positional)")
      ("out", Str("DIR"), "folder for report.md and plots/ (default: the first DIR)")
      ("no-plots", "write report.md only, no plots/ folder")
      ("gnuplot", Str("PROG"), "gnuplot program, name or path (default gnuplot)");
  po::positional_options_description pos;
  pos.add("dir", -1);
  const auto parsed = ParseFlags(args, desc, pos);
  if (!parsed) return 0;  // --help
  const po::variables_map& vm = *parsed;
  HSR_CHECK(vm.count("dir"), "report: expected a result folder DIR (written by hsr sweep), "
            "got none");
  sim::ReportOptions options;
  options.dirs = vm["dir"].as<std::vector<std::string>>();
  if (auto v = Get(vm, "out")) options.out_dir = *v;
  options.plots = !vm.count("no-plots");
  if (auto v = Get(vm, "gnuplot")) options.gnuplot = *v;

  const sim::ReportSummary s = sim::WriteReport(options);
  for (const auto& w : s.warnings) fmt::print(stderr, "hsr: warning: {}\n", w);
  for (const auto& n : s.notes) fmt::print(stderr, "hsr: note: {}\n", n);
  if (!s.plots_message.empty()) fmt::print(stderr, "hsr: {}\n", s.plots_message);
  fmt::print("wrote {}: {} ok row(s), {} failed point(s), {} duplicate(s) dropped; ", s.report_path,
             s.rows, s.failed, s.duplicates_dropped);
  if (!options.plots) {
    fmt::print("plots not requested\n");
  } else {
    fmt::print("{} of {} figure(s) rendered\n", s.figures_rendered, s.figures);
  }
  return 0;
}

}  // namespace hsr::cli
