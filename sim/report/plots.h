// Figures of report.md (hsr report), drawn by gnuplot as SVG. For each figure, NAME.dat (the
// data, one block per series) and NAME.gp (the script, reading NAME.dat, writing NAME.svg) go
// to DIR/plots/, so a user can edit and re-render: cd DIR/plots && gnuplot NAME.gp.
// Scripts are generated from the series (sim/report/analysis.h), never from fixed templates
// that assume a grid: any number of series, missing points and single points work.
//
// Figures: (a) time per query vs n per workload/attention group, dense and HSR, log-log, with
// fitted slopes in the legend and reference lines ~ n and ~ n^(4/5); (b) reported keys per
// query vs n with the n^(4/5) line; (c) measured error vs certificate for softmax HSR rows;
// (d) speedup over (n, reported fraction): a heatmap when the rows fill a grid, else a
// scatter coloured by speedup (the caption says which; labels ending in ~1: a row's 95%
// interval contains 1); (e) speedup vs n per workload group with 95% interval bars, points
// whose interval contains 1 ringed; (f) time and speedup per Highway target at a fixed (n, d),
// where rows ran under several targets.
#pragma once

#include <string>
#include <vector>

#include "sim/report/analysis.h"
#include "sim/report/rows.h"

namespace hsr::sim {

struct Figure {
  std::string title;
  std::string svg;      // relative to the report folder: "plots/time_01.svg"
  std::string caption;  // how to read it (Markdown)
  bool rendered = false;
};

struct PlotResult {
  std::vector<Figure> figures;
  std::vector<std::string> warnings;  // gnuplot failures, naming the .gp file
  bool gnuplot_found = false;
};

// Finds `program` (a path, or a name searched in PATH); "" when absent or not executable.
std::string FindProgram(const std::string& program);

// Writes DIR/plots/*.dat and *.gp and, when gnuplot (program name or path) is found, runs it
// on each script (no shell; its output goes to NAME.log, kept only when non-empty).
// A script that gnuplot rejects is a warning naming the file, not an error.
PlotResult WritePlots(const std::string& out_dir, const std::vector<ReportRow>& rows,
                      const std::vector<TimeSeries>& time,
                      const std::vector<ReportedSeries>& reported,
                      const std::string& gnuplot = "gnuplot");

}  // namespace hsr::sim
