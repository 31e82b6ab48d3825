#include "sim/report/tables.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "sim/stats/summary.h"

namespace hsr::sim {
namespace {

std::string Sci(const std::optional<double>& v) {
  return v ? fmt::format("{:.2e}", *v) : std::string("-");
}

std::string Us(double us) {
  return us >= 100 ? fmt::format("{:.0f}", us) : fmt::format("{:.3g}", us);
}

std::string Join(const std::set<std::string>& s) {
  std::string out;
  for (const auto& x : s) out += (out.empty() ? "" : ", ") + x;
  return out.empty() ? "-" : out;
}

// Sorted set of a row field, numbers in numeric order.
std::string Distinct(const std::vector<ReportRow>& rows, const char* key) {
  std::set<double> nums;
  std::set<std::string> strs;
  for (const auto& r : rows) {
    if (const auto v = r.Num(key)) {
      nums.insert(*v);
    } else if (!r.Str(key).empty()) {
      strs.insert(r.Str(key));
    }
  }
  std::string out;
  for (double v : nums) {
    const std::string text = std::string(key) == "n" ? NText(v) : fmt::format("{:g}", v);
    out += (out.empty() ? "" : ", ") + text;
  }
  for (const auto& s : strs) out += (out.empty() ? "" : ", ") + s;
  return out.empty() ? "-" : out;
}

// Measured vs certified for one HSR row (see ErrorSection).
struct Check {
  std::string text;
  double need_v = 0;  // softmax without max|v|: the max|v| for which the bound holds
  bool checked = false, violated = false;
  double ratio = -1;  // err_over_cert_max when the row has it
};

Check CertificateCheck(const ReportRow& r, const ReportRow* dense) {
  const auto err = r.Num("max_abs_err");
  const auto eps = r.Num("eps_max");
  if (r.Str("attention") != "softmax") return {"exact path: compare with dense"};
  // The row's own check (sim/bench/backends.cc, SoftmaxCertColumns): max over oracle rows of
  // measured error / (2 eps max|v| + 2 tol), each row's max|v| over its visible keys; the bound holds iff
  // <= 1.
  if (const auto ratio = r.Num("err_over_cert_max")) {
    if (*ratio <= 1) {
      return {fmt::format("holds: err / (2 eps max\\|v\\|) = {:.2g} <= 1", *ratio), 0, true, false,
              *ratio};
    }
    return {fmt::format("**VIOLATED**: err / (2 eps max\\|v\\|) = {:.3g} > 1", *ratio), 0, true,
            true, *ratio};
  }
  if (!err || !eps) return {"-"};
  // max |v| when the row carries it (sweep rows may); else only the max|v| the bound needs.
  std::optional<double> vmax = r.Num("v_abs_max");
  if (!vmax) vmax = r.Num("max_abs_v");
  // The dense row's own error vs the oracle stands for the float rounding both paths share.
  const double slack = dense ? dense->Num("max_abs_err").value_or(0) : 0;
  if (vmax) {
    const double bound = 2 * *eps * *vmax + slack;
    if (*err <= bound) {
      return {fmt::format("holds ({:.2g} of bound {:.2e})", *err / bound, bound), 0, true, false};
    }
    return {fmt::format("**VIOLATED**: {:.2e} > bound {:.2e}", *err, bound), 0, true, true};
  }
  if (*eps <= 0) return {"eps = 0: all visible keys kept"};
  const double need = std::max(0.0, *err - slack) / (2 * *eps);
  return {fmt::format("holds if max\\|v\\| >= {:.3g}", need), need};
}

// JSON with one object member per line and arrays of numbers / strings on one line.
std::string CompactJson(const nlohmann::ordered_json& j, size_t indent) {
  const bool flat_array = j.is_array() && std::none_of(j.begin(), j.end(), [](const auto& v) {
    return v.is_structured();
  });
  if (!j.is_structured() || flat_array || j.empty()) return j.dump();
  const std::string pad(indent + 2, ' ');
  std::string out = j.is_object() ? "{\n" : "[\n";
  size_t i = 0;
  for (auto it = j.begin(); it != j.end(); ++it, ++i) {
    out += pad;
    if (j.is_object()) out += nlohmann::ordered_json(it.key()).dump() + ": ";
    out += CompactJson(*it, indent + 2) + (i + 1 < j.size() ? ",\n" : "\n");
  }
  return out + std::string(indent, ' ') + (j.is_object() ? "}" : "]");
}

// HSR rows ordered by workload, attention/threshold, d, backend, n (numbers as numbers).
std::vector<const ReportRow*> SortedHsr(const std::vector<ReportRow>& rows) {
  std::vector<const ReportRow*> out;
  for (const auto& r : rows) {
    if (r.IsHsr()) out.push_back(&r);
  }
  auto key = [](const ReportRow* r) {
    return std::make_tuple(GroupLabel(*r), ConfigLabel(*r), r->Num("d").value_or(0),
                           BackendLabel(*r), r->Num("n").value_or(0));
  };
  std::stable_sort(out.begin(), out.end(),
                   [&](const ReportRow* a, const ReportRow* b) { return key(a) < key(b); });
  return out;
}

}  // namespace

std::string SpeedupText(const std::vector<Speedup>& cell) {
  std::vector<double> v;
  std::optional<double> lo, hi;
  bool all_intervals = true;
  for (const auto& s : cell) {
    v.push_back(s.speedup);
    if (!s.lo || !s.hi) {
      all_intervals = false;
      continue;
    }
    lo = lo ? std::min(*lo, *s.lo) : *s.lo;
    hi = hi ? std::max(*hi, *s.hi) : *s.hi;
  }
  std::string c = fmt::format("{:.2f}x", GeometricMean(v));
  if (cell.size() > 1) c += fmt::format(" ({})", cell.size());
  if (all_intervals && lo) {
    c += fmt::format(" [{:.2f}, {:.2f}]", *lo, *hi);
    if (*lo <= 1.0 && *hi >= 1.0) c += " **~1**";
  }
  return c;
}

double GeometricMean(const std::vector<double>& v) {
  double s = 0;
  size_t k = 0;
  for (double x : v) {
    if (x > 0 && std::isfinite(x)) {
      s += std::log(x);
      ++k;
    }
  }
  return k ? std::exp(s / static_cast<double>(k)) : 0;
}

std::string NText(double n) {
  const double l = std::log2(n);
  if (n >= 1024 && l == std::floor(l)) return fmt::format("2^{}", static_cast<int>(l));
  return fmt::format("{:g}", n);
}

std::string MarkdownTable(const std::vector<std::string>& header,
                          const std::vector<std::vector<std::string>>& rows) {
  auto line = [](const std::vector<std::string>& cells) {
    std::string s = "|";
    for (const auto& c : cells) {
      std::string esc;
      for (size_t i = 0; i < c.size(); ++i) {
        // Escape a bare '|' (an already escaped one, "\|", stays as it is).
        if (c[i] == '|' && (i == 0 || c[i - 1] != '\\')) esc += '\\';
        esc += c[i];
      }
      s += " " + esc + " |";
    }
    return s + "\n";
  };
  std::string out = line(header);
  out += "|";
  for (size_t i = 0; i < header.size(); ++i) out += "---|";
  out += "\n";
  for (const auto& r : rows) out += line(r);
  return out;
}

std::string MachineSection(const ResultSet& set) {
  using Key = std::tuple<std::string, std::string, std::string, std::string>;
  std::map<Key, std::vector<double>> read_gbs;
  std::map<Key, size_t> count;
  for (const auto& r : set.rows) {
    const Key k{r.Str("host"), r.Str("cpu_target"), r.Str("commit"), r.Str("threads")};
    ++count[k];
    if (const auto g = r.Num("read_gbs")) read_gbs[k].push_back(*g);
  }
  std::vector<std::vector<std::string>> cells;
  for (const auto& [k, c] : count) {
    const auto& g = read_gbs[k];
    const std::string gbs = g.empty() ? "-" : fmt::format("{:.1f}", Quantile(g, 0.5));
    auto dash = [](const std::string& s) { return s.empty() ? std::string("-") : s; };
    cells.push_back({dash(std::get<0>(k)), dash(std::get<1>(k)), dash(std::get<2>(k)),
                     dash(std::get<3>(k)), gbs, fmt::format("{}", c)});
  }
  std::string out = "## Machine\n\n";
  if (cells.empty()) return out + "No ok rows.\n\n";
  out += MarkdownTable({"host", "cpu_target (Highway)", "commit", "threads",
                        "read GB/s (median)", "rows"}, cells);
  if (cells.size() > 1) {
    out += "\nRows come from more than one machine, commit or thread count: compare times only "
           "within one of these lines.\n";
  }
  return out + "\n";
}

std::string ConfigurationSection(const ResultSet& set) {
  std::string out = "## Configuration\n\n";
  std::map<std::string, std::vector<std::string>> by_text;  // identical sweep.json collapsed
  for (const auto& [path, j] : set.sweep_configs) by_text[CompactJson(j, 0)].push_back(path);
  if (by_text.empty()) {
    out += "No sweep.json in the result folders; the values below are read off the rows.\n\n";
  }
  for (const auto& [text, paths] : by_text) {
    std::string names;
    for (const auto& p : paths) names += (names.empty() ? "" : ", ") + p;
    out += fmt::format("Grid from {}:\n\n```json\n{}\n```\n\n", names, text);
  }
  const auto& rows = set.rows;
  std::set<std::string> families, backends, configs;
  for (const auto& r : rows) {
    families.insert(GroupLabel(r));
    backends.insert(BackendLabel(r));
    configs.insert(ConfigLabel(r));
  }
  out += "Values present in the ok rows:\n\n";
  out += fmt::format("- workloads: {}\n", Join(families));
  out += fmt::format("- n: {}\n- d: {}\n- m: {}\n- heads: {}\n", Distinct(rows, "n"),
                     Distinct(rows, "d"), Distinct(rows, "m"), Distinct(rows, "heads"));
  out += fmt::format("- backends: {}\n- attention, threshold: {}\n", Join(backends), Join(configs));
  out += fmt::format("- threads: {}\n- repeats: {}\n- cold K/V: {}\n- seeds: {}\n\n",
                     Distinct(rows, "threads"), Distinct(rows, "repeats"), Distinct(rows, "cold"),
                     Distinct(rows, "seed"));
  return out;
}

std::string SpeedupSection(const std::vector<ReportRow>& rows) {
  std::string out =
      "## Speedup: HSR vs dense\n\n"
      "Dense time per query / HSR time per query (> 1: HSR faster), per workload, attention, "
      "threshold, d and n. The dense baseline is the row's own: for rows timed in alternation "
      "with it, its `speedup_vs` backend (dense-hwy for hsr-cpu) in the same run; for older "
      "rows, the fastest dense backend timed at the same sweep point (same run, same data; "
      "without a point_id, the row's own `speedup`); a `†` "
      "marks a pairing across runs (no dense row in the HSR row's run: the fastest dense row of "
      "the same workload spec). Rows timed in alternation with their baseline carry the median "
      "of the per-round ratios and its 95% interval `[lo, hi]` (order statistics of the median, "
      "exact and distribution-free); **`~1`** marks a cell whose interval contains 1: no "
      "measurable difference at that point. Cells with several rows (seeds, shards) show their "
      "geometric mean, the count and the hull of their intervals.\n\n";
  using RowKey = std::tuple<std::string, std::string, double, std::string>;
  std::map<RowKey, std::map<double, std::vector<Speedup>>> cells;
  std::map<RowKey, bool> cross;
  std::set<double> ns;
  std::vector<std::vector<std::string>> detail;
  for (const ReportRow* hsr_row : SortedHsr(rows)) {
    const ReportRow& r = *hsr_row;
    const auto s = SpeedupOf(r, rows);
    const double n = r.Num("n").value_or(0);
    if (!s || !(n > 0)) continue;
    const RowKey k{GroupLabel(r), ConfigLabel(r), r.Num("d").value_or(0), BackendLabel(r)};
    cells[k][n].push_back(*s);
    cross[k] = cross[k] || s->cross_run;
    ns.insert(n);
    const auto rep = r.Num("reported_mean");
    const auto cand = r.Num("candidates_mean");
    detail.push_back({std::get<0>(k), std::get<1>(k), r.Str("d"), NText(n), BackendLabel(r),
                      Us(*r.Num("median_us")), s->dense_backend, Us(s->dense_us),
                      SpeedupText({*s}) + (s->cross_run ? " †" : ""),
                      r.Str("samples").empty() ? "-" : r.Str("samples"),
                      rep ? fmt::format("{:.3g}%", 100 * *rep / n) : "-",
                      cand ? fmt::format("{:.3g}%", 100 * *cand / n) : "-"});
  }
  if (cells.empty()) return out + "No HSR row with a dense baseline.\n\n";
  std::vector<std::string> header = {"workload", "attention, threshold", "d", "HSR backend"};
  for (double n : ns) header.push_back("n=" + NText(n));
  std::vector<std::vector<std::string>> table;
  for (const auto& [k, by_n] : cells) {
    std::vector<std::string> line = {std::get<0>(k), std::get<1>(k),
                                     fmt::format("{:g}", std::get<2>(k)), std::get<3>(k)};
    for (double n : ns) {
      const auto it = by_n.find(n);
      if (it == by_n.end()) {
        line.push_back("-");
        continue;
      }
      std::string c = SpeedupText(it->second);
      if (cross[k]) c += " †";
      line.push_back(c);
    }
    table.push_back(line);
  }
  out += MarkdownTable(header, table);
  out += "\n<details><summary>Every HSR row: times (us per query token), baseline, reported and "
         "rechecked keys (% of n)</summary>\n\n";
  out += MarkdownTable({"workload", "attention, threshold", "d", "n", "HSR backend", "HSR us",
                        "dense backend", "dense us", "speedup [95% CI]", "samples", "reported",
                        "candidates"},
                       detail);
  return out + "\n</details>\n\n";
}

std::string ErrorSection(const std::vector<ReportRow>& rows) {
  std::string out =
      "## Errors vs the float64 oracle\n\n"
      "`max_abs_err` and `rel_l2_err` compare each backend's output with the float64 dense "
      "oracle (on the rows' `oracle_rows`). ReLU^alpha over the reported keys is exact: its "
      "error should be at the float level of the dense row's. Softmax-HSR drops keys below its "
      "threshold; the certificate `eps_max` bounds the dropped probability mass and "
      "max_c |o - o~| <= 2 eps max_j |v_jc| (docs/design.md §1). Where a row carries "
      "`err_over_cert_max` (max over the oracle's rows of the measured error / (2 eps max|v| + "
      "2 tol), tol the oracle's float32 tolerance of a dense run, "
      "max|v| over that row's visible keys) the bound holds iff it is <= 1. Else, where a row "
      "carries max|v| "
      "(`v_abs_max`) the check is done (with the dense row's error as float slack); otherwise "
      "the table gives the max|v| for which the bound holds, to compare with the workload's "
      "values (about 4-5 for unit Gaussian V at these n). Summary first (worst over n), then "
      "every row.\n\n";
  struct Worst {
    std::set<double> ns;
    double err = 0, rel = 0, eps = -1, dense_err = 0, need_v = 0, ratio = -1;
    size_t violated = 0, checked = 0;
  };
  using Key = std::tuple<std::string, std::string, double, std::string>;
  std::map<Key, Worst> worst;
  std::vector<std::vector<std::string>> table;
  for (const ReportRow* hsr_row : SortedHsr(rows)) {
    const ReportRow& r = *hsr_row;
    const ReportRow* dense = DenseFor(r, rows);
    const Check check = CertificateCheck(r, dense);
    Worst& w = worst[{GroupLabel(r), ConfigLabel(r), r.Num("d").value_or(0), BackendLabel(r)}];
    w.ns.insert(r.Num("n").value_or(0));
    w.err = std::max(w.err, r.Num("max_abs_err").value_or(0));
    w.rel = std::max(w.rel, r.Num("rel_l2_err").value_or(0));
    if (const auto e = r.Num("eps_max")) w.eps = std::max(w.eps, *e);
    if (dense) w.dense_err = std::max(w.dense_err, dense->Num("max_abs_err").value_or(0));
    w.need_v = std::max(w.need_v, check.need_v);
    w.ratio = std::max(w.ratio, check.ratio);
    w.checked += check.checked;
    w.violated += check.violated;
    table.push_back({GroupLabel(r), ConfigLabel(r), r.Str("d"), NText(r.Num("n").value_or(0)),
                     BackendLabel(r), Sci(r.Num("max_abs_err")), Sci(r.Num("rel_l2_err")),
                     Sci(r.Num("eps_max")), Sci(r.Num("eps_mean")),
                     dense ? Sci(dense->Num("max_abs_err")) : "-", check.text});
  }
  if (table.empty()) return out + "No HSR rows.\n\n";
  std::vector<std::vector<std::string>> summary;
  for (const auto& [k, w] : worst) {
    std::string verdict = "-";
    if (w.checked > 0) {
      verdict = w.violated ? fmt::format("**{} of {} VIOLATED**", w.violated, w.checked)
                           : fmt::format("holds in all {}", w.checked);
      if (w.ratio >= 0) {
        verdict += fmt::format(" (max err / (2 eps max\\|v\\|) = {:.2g})", w.ratio);
      }
    } else if (w.need_v > 0) {
      verdict = fmt::format("holds if max\\|v\\| >= {:.3g}", w.need_v);
    } else if (std::get<1>(k).rfind("relu", 0) == 0) {
      verdict = "exact path: compare with dense";
    }
    summary.push_back({std::get<0>(k), std::get<1>(k), fmt::format("{:g}", std::get<2>(k)),
                       std::get<3>(k),
                       fmt::format("{}..{}", NText(*w.ns.begin()), NText(*w.ns.rbegin())),
                       fmt::format("{:.2e}", w.err), fmt::format("{:.2e}", w.rel),
                       w.eps >= 0 ? fmt::format("{:.2e}", w.eps) : "-",
                       fmt::format("{:.2e}", w.dense_err), verdict});
  }
  out += MarkdownTable({"workload", "attention, threshold", "d", "backend", "n", "max_abs_err",
                        "rel_l2_err", "eps_max", "dense max_abs_err", "measured vs certified"},
                       summary);
  out += "\n<details><summary>Every HSR row</summary>\n\n";
  out += MarkdownTable({"workload", "attention, threshold", "d", "n", "backend", "max_abs_err",
                        "rel_l2_err", "eps_max", "eps_mean", "dense max_abs_err",
                        "measured vs certified"}, table);
  return out + "\n</details>\n\n";
}

std::string FitSection(const std::vector<TimeSeries>& time,
                       const std::vector<ReportedSeries>& reported) {
  std::string out =
      "## Fitted exponents\n\n"
      "Least-squares slope of ln(y) on ln(n), +- the 95% confidence interval (Student t on "
      "the slope's standard error, points - 2 degrees of freedom). The interval measures how "
      "well one power law fits these points, not run-to-run noise; a bend in the range (a "
      "cache edge) widens it. Fewer than 3 distinct n: n/a.\n\n"
      "### Time per query vs n\n\n"
      "Dense decode reads all of K and V: expect about 1 once K/V leave the cache. HSR "
      "below 1 means its cost grows sub-linearly in n.\n\n";
  std::vector<std::vector<std::string>> table;
  for (const auto& s : time) {
    table.push_back({s.group, s.label, FitText(s.fit, s.distinct_n)});
  }
  out += table.empty() ? std::string("No timed rows.\n")
                       : MarkdownTable({"workload | attention, threshold", "series",
                                        "time exponent"}, table);
  out += "\n### Reported keys per query vs n\n\n"
         "The paper's analysis allows about n^(4/5) reported keys per query at its threshold; "
         "for Gaussian scores the count is k ~ n^0.8 / sqrt(ln n), whose local slope is "
         "0.8 - 1/(2 ln n) (0.74-0.76 for n = 2^12..2^20), so a fit a little below 0.8 is "
         "expected there. Fixed-count or fixed-fraction thresholds give 0 or 1 by design.\n\n";
  table.clear();
  for (const auto& s : reported) {
    std::string verdict = "n/a";
    if (s.fit) {
      const double lo = s.fit->slope - s.fit->ci95, hi = s.fit->slope + s.fit->ci95;
      verdict = hi < 0.8 ? "below 4/5" : lo > 0.8 ? "above 4/5" : "consistent with 4/5";
    }
    table.push_back({s.family, s.label, FitText(s.fit, s.distinct_n), verdict});
  }
  out += table.empty() ? std::string("No HSR rows with reported_mean.\n")
                       : MarkdownTable({"workload", "series", "reported exponent", "vs 4/5"},
                                       table);
  return out + "\n";
}

std::string TargetSection(const std::vector<TargetComparison>& comparisons,
                          const std::vector<ReportRow>& rows) {
  std::string out =
      "## SIMD targets\n\n"
      "Time per query token (us) and HSR speedup [95% interval] per Highway target that ran "
      "(`cpu_target`), at one (n, d) per workload and attention: the largest n (then d) timed "
      "under two or more targets. Sweep targets with `--target` (grid key `target`).\n\n";
  if (comparisons.empty()) {
    std::set<std::string> targets;
    for (const auto& r : rows) {
      if (!r.Str("cpu_target").empty()) targets.insert(r.Str("cpu_target"));
    }
    return out + fmt::format("No setting was timed under two or more targets (targets in the "
                             "rows: {}).\n\n", Join(targets));
  }
  for (const auto& c : comparisons) {
    std::vector<std::string> header = {"backend"};
    for (const auto& t : c.targets) header.push_back(t);
    std::vector<std::vector<std::string>> table;
    for (const auto& [backend, by_target] : c.backends) {
      std::vector<std::string> line = {backend};
      for (const auto& t : c.targets) {
        const auto it = by_target.find(t);
        if (it == by_target.end()) {
          line.push_back("-");
          continue;
        }
        std::string cell = Us(*it->second->Num("median_us")) + " us";
        if (it->second->IsHsr()) {
          if (const auto s = SpeedupOf(*it->second, rows)) cell += ", " + SpeedupText({*s});
        }
        line.push_back(cell);
      }
      table.push_back(std::move(line));
    }
    out += fmt::format("**{} | {}, d={:g}, n={}**\n\n", c.group, c.config, c.d, NText(c.n));
    out += MarkdownTable(header, table) + "\n";
  }
  return out;
}

std::string SkippedSection(const std::vector<ReportRow>& skipped) {
  std::string out = "## Skipped points\n\n";
  if (skipped.empty()) return out + "None.\n\n";
  std::map<std::string, std::pair<const ReportRow*, std::set<std::string>>> points;
  for (const auto& r : skipped) {
    auto& [first, backends] = points[r.Str("point_id").empty() ? r.source : r.Str("point_id")];
    if (!first) first = &r;
    backends.insert(BackendLabel(r));
  }
  std::vector<std::vector<std::string>> table;
  for (const auto& [id, p] : points) {
    const ReportRow& r = *p.first;
    table.push_back({id, WorkloadFamily(r.Str("workload")), ConfigLabel(r), Join(p.second),
                     r.Str("target").empty() ? "-" : r.Str("target"), r.Str("error")});
  }
  out += fmt::format("{} point(s) not run where the sweep ran: their target is not runnable "
                     "there (never run on another target).\n\n", points.size());
  out += MarkdownTable({"point_id", "workload", "attention, threshold", "backends", "target",
                        "reason"}, table);
  return out + "\n";
}

std::string FailedSection(const std::vector<ReportRow>& failed) {
  std::string out = "## Failed points\n\n";
  if (failed.empty()) return out + "None.\n\n";
  // A failed point writes one row per backend: one line per point (by point_id when present).
  struct Point {
    const ReportRow* first;
    std::set<std::string> backends;
  };
  std::vector<Point> points;
  std::map<std::string, size_t> by_id;
  for (const auto& r : failed) {
    const std::string pid = r.Str("point_id");
    size_t i = points.size();
    if (!pid.empty()) {
      const auto [it, inserted] = by_id.emplace(pid, points.size());
      i = it->second;
      if (inserted) points.push_back({&r, {}});
    } else {
      points.push_back({&r, {}});
    }
    if (!r.Str("backend").empty()) points[i].backends.insert(BackendLabel(r));
  }
  auto dash = [](const std::string& s) { return s.empty() ? std::string("-") : s; };
  std::vector<std::vector<std::string>> table;
  for (const auto& p : points) {
    const ReportRow& r = *p.first;
    std::string err = dash(r.Str("error"));
    for (char& c : err) {
      if (c == '\n' || c == '\r') c = ' ';
    }
    table.push_back({dash(r.Str("point_id")), dash(r.Str("workload")), ConfigLabel(r),
                     Join(p.backends), dash(r.Str("threads")), err, r.source});
  }
  out += fmt::format("{} point(s) failed ({} row(s)); the sweep recorded them and went on.\n\n",
                     points.size(), failed.size());
  out += MarkdownTable({"point_id", "workload", "attention, threshold", "backends", "threads",
                        "error", "first line"}, table);
  return out + "\n";
}

}  // namespace hsr::sim
