#include "sim/report/analysis.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include <fmt/format.h>

namespace hsr::sim {
namespace {

double N(const ReportRow& r) { return r.Num("n").value_or(0); }

// Everything that identifies a measurement's setting except backend, index, threshold, n, d.
std::string SettingKey(const ReportRow& r) {
  return fmt::format("{}|{}|{}", GroupLabel(r), r.Str("attention"), r.Str("alpha"));
}

// Same data and shape (full workload string, so n, d and seed match) for dense pairing.
std::string PairKey(const ReportRow& r) {
  return fmt::format("{}|{}|{}|{}|{}|{}|{}|{}", r.Str("workload"), r.Str("mode"),
                     r.Str("causal"), r.Str("m"), r.Str("threads"), r.Str("attention"),
                     r.Str("alpha"), r.Str("scale"));
}

}  // namespace

std::string AttentionLabel(const ReportRow& r) {
  const std::string att = r.Str("attention").empty() ? "?" : r.Str("attention");
  const std::string alpha = r.Str("alpha");
  return alpha.empty() ? att : fmt::format("{} a={}", att, alpha);
}

std::string ConfigLabel(const ReportRow& r) {
  const std::string t = r.Str("threshold");
  return t.empty() ? AttentionLabel(r) : fmt::format("{}, {}", AttentionLabel(r), t);
}

std::string BackendLabel(const ReportRow& r) {
  const std::string b = r.Str("backend").empty() ? "?" : r.Str("backend");
  const std::string i = r.Str("index");
  return i.empty() ? b : fmt::format("{}/{}", b, i);
}

std::string GroupLabel(const ReportRow& r) {
  const std::string family = WorkloadFamily(r.Str("workload"));
  const std::string mode = r.Str("mode");
  const std::string threads = r.Str("threads");
  return fmt::format("{}{}{}{}", family.empty() ? "?" : family,
                     !mode.empty() && mode != "decode" ? " " + mode : "",
                     r.Str("causal") == "true" ? " causal" : "",
                     !threads.empty() && threads != "1" ? " " + threads + " threads" : "");
}

std::vector<TimeSeries> BuildTimeSeries(const std::vector<ReportRow>& rows) {
  // Groups: setting + threshold of every row that has a threshold (HSR rows, relu dense rows).
  std::map<std::string, std::set<std::string>> thresholds;  // setting -> thresholds seen
  for (const auto& r : rows) {
    if (!r.Str("threshold").empty()) thresholds[SettingKey(r)].insert(r.Str("threshold"));
  }
  using Key = std::tuple<std::string, int, std::string, double>;  // group, kind, backend, d
  std::map<Key, TimeSeries> series;
  auto add = [&](const ReportRow& r, const std::string& group) {
    const int kind = r.IsDense() ? 0 : r.IsHsr() ? 2 : 1;
    const double d = r.Num("d").value_or(0);
    TimeSeries& s = series[Key{group, kind, BackendLabel(r), d}];
    s.group = group;
    s.label = fmt::format("{} d={}", BackendLabel(r), r.Str("d"));
    s.hsr = r.IsHsr();
    s.d = d;
    s.rows.push_back(&r);
  };
  for (const auto& r : rows) {
    if (!(N(r) > 0) || !(r.Num("median_us").value_or(0) > 0)) continue;
    const std::string base = GroupLabel(r) + " | " + AttentionLabel(r);
    const auto it = thresholds.find(SettingKey(r));
    if (r.Str("threshold").empty() && it != thresholds.end()) {
      for (const auto& t : it->second) add(r, fmt::format("{}, {}", base, t));
    } else {
      add(r, GroupLabel(r) + " | " + ConfigLabel(r));
    }
  }
  std::vector<TimeSeries> out;
  for (auto& [key, s] : series) {
    std::stable_sort(s.rows.begin(), s.rows.end(),
                     [](const ReportRow* a, const ReportRow* b) { return N(*a) < N(*b); });
    std::vector<double> x, y;
    for (const auto* r : s.rows) {
      x.push_back(N(*r));
      y.push_back(*r->Num("median_us"));
    }
    s.fit = FitPowerLaw(x, y);
    s.distinct_n = std::set<double>(x.begin(), x.end()).size();
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<ReportedSeries> BuildReportedSeries(const std::vector<ReportRow>& rows) {
  struct Acc {
    ReportedSeries s;
    std::map<std::pair<double, std::string>, std::pair<double, size_t>> points;  // sum, count
  };
  std::map<std::tuple<std::string, double, std::string>, Acc> acc;
  for (const auto& r : rows) {
    const auto k = r.Num("reported_mean");
    if (!r.IsHsr() || !k || !(N(r) > 0)) continue;
    const std::string family = GroupLabel(r);
    const double d = r.Num("d").value_or(0);
    const std::string t = r.Str("threshold").empty() ? "?" : r.Str("threshold");
    Acc& a = acc[{family, d, t}];
    a.s.family = family;
    a.s.d = d;
    a.s.label = fmt::format("d={}, {}", r.Str("d"), t);
    auto& [sum, count] = a.points[{N(r), r.Str("workload")}];
    sum += *k;
    ++count;
  }
  std::vector<ReportedSeries> out;
  for (auto& [key, a] : acc) {
    for (const auto& [p, sc] : a.points) {  // ascending n
      a.s.n.push_back(p.first);
      a.s.reported.push_back(sc.first / static_cast<double>(sc.second));
    }
    a.s.fit = FitPowerLaw(a.s.n, a.s.reported);
    a.s.distinct_n = std::set<double>(a.s.n.begin(), a.s.n.end()).size();
    out.push_back(std::move(a.s));
  }
  return out;
}

const ReportRow* DenseFor(const ReportRow& hsr_row, const std::vector<ReportRow>& rows) {
  const std::string key = PairKey(hsr_row);
  const std::string vs = hsr_row.Str("speedup_vs");
  const ReportRow* best = nullptr;
  for (const auto& r : rows) {
    if (!r.IsDense() || PairKey(r) != key || !(r.Num("median_us").value_or(0) > 0)) continue;
    const std::string t = r.Str("threshold");
    if (!t.empty() && t != hsr_row.Str("threshold")) continue;
    if (!vs.empty() && r.Str("backend") == vs) return &r;  // the run's own baseline
    if (!best || *r.Num("median_us") < *best->Num("median_us")) best = &r;
  }
  return best;
}

std::optional<Speedup> SpeedupOf(const ReportRow& hsr_row, const std::vector<ReportRow>& rows) {
  const auto us = hsr_row.Num("median_us");
  if (!us || !(*us > 0)) return std::nullopt;
  const auto paired = hsr_row.Num("speedup"), lo = hsr_row.Num("speedup_lo"),
             hi = hsr_row.Num("speedup_hi");
  if (paired && *paired > 0 && lo && hi) {
    const std::string vs = hsr_row.Str("speedup_vs");
    double dense_us = *paired * *us;  // the baseline's own median when its row is here
    for (const auto& r : rows) {
      if (r.Str("backend") == vs && !hsr_row.Str("point_id").empty() &&
          r.Str("point_id") == hsr_row.Str("point_id") && r.Num("median_us")) {
        dense_us = *r.Num("median_us");
      }
    }
    return Speedup{*paired, dense_us, vs.empty() ? "dense" : vs, false, lo, hi};
  }
  // Rows of one sweep point (same point_id) ran in one RunBench call on the same data: take the
  // fastest dense backend among them, so a table row never mixes baselines (dense-ref at small n,
  // dense-hwy at large n) whatever the backend order was.
  if (const std::string pid = hsr_row.Str("point_id"); !pid.empty()) {
    const ReportRow* best = nullptr;
    for (const auto& r : rows) {
      if (!r.IsDense() || r.Str("point_id") != pid || !(r.Num("median_us").value_or(0) > 0)) {
        continue;
      }
      if (!best || *r.Num("median_us") < *best->Num("median_us")) best = &r;
    }
    if (best) {
      const double dense_us = *best->Num("median_us");
      return Speedup{dense_us / *us, dense_us, best->Str("backend"), false, {}, {}};
    }
  }
  if (const auto s = hsr_row.Num("speedup"); s && *s > 0) {
    return Speedup{*s, *s * *us, hsr_row.Str("speedup_vs").empty() ? "dense"
                                                                    : hsr_row.Str("speedup_vs"),
                   false, {}, {}};
  }
  const ReportRow* dense = DenseFor(hsr_row, rows);
  if (!dense) return std::nullopt;
  const double dense_us = *dense->Num("median_us");
  return Speedup{dense_us / *us, dense_us, dense->Str("backend"), true, {}, {}};
}

std::vector<TargetComparison> BuildTargetComparisons(const std::vector<ReportRow>& rows) {
  // Highway's order, best first; unknown names after them, alphabetically.
  static const std::vector<std::string> order = {"AVX3_ZEN4", "AVX3_DL", "AVX3", "AVX2",
                                                 "SSE4",      "SSSE3",   "EMU128", "SCALAR"};
  const auto rank = [&](const std::string& t) {
    const auto it = std::find(order.begin(), order.end(), t);
    return std::make_pair(static_cast<size_t>(it - order.begin()), t);
  };
  using Setting = std::pair<std::string, std::string>;  // group, config
  using Shape = std::pair<double, double>;              // n, d
  std::map<Setting, std::map<Shape, std::vector<const ReportRow*>>> by;
  for (const auto& r : rows) {
    if (r.Str("cpu_target").empty() || !(r.Num("median_us").value_or(0) > 0)) continue;
    by[{GroupLabel(r), ConfigLabel(r)}][{N(r), r.Num("d").value_or(0)}].push_back(&r);
  }
  std::vector<TargetComparison> out;
  for (const auto& [setting, shapes] : by) {
    for (auto it = shapes.rbegin(); it != shapes.rend(); ++it) {  // largest n, then d
      std::set<std::string> targets;
      for (const ReportRow* r : it->second) targets.insert(r->Str("cpu_target"));
      if (targets.size() < 2) continue;
      TargetComparison c;
      c.group = setting.first;
      c.config = setting.second;
      c.n = it->first.first;
      c.d = it->first.second;
      c.targets.assign(targets.begin(), targets.end());
      std::sort(c.targets.begin(), c.targets.end(),
                [&](const std::string& a, const std::string& b) { return rank(a) < rank(b); });
      std::map<std::pair<int, std::string>, std::map<std::string, const ReportRow*>> backends;
      for (const ReportRow* r : it->second) {
        auto& slot = backends[{r->IsDense() ? 0 : r->IsHsr() ? 2 : 1, BackendLabel(*r)}];
        slot.emplace(r->Str("cpu_target"), r);  // first row read wins
      }
      for (auto& [key, m] : backends) c.backends.emplace_back(key.second, std::move(m));
      out.push_back(std::move(c));
      break;
    }
  }
  return out;
}

std::string FitText(const std::optional<PowerFit>& fit, size_t distinct_n) {
  if (!fit) return fmt::format("n/a ({} n value{}; needs >= 3)", distinct_n,
                               distinct_n == 1 ? "" : "s");
  return fmt::format("{:.3f} +- {:.3f} ({} pts, n {:g}..{:g})", fit->slope, fit->ci95,
                     fit->points, fit->x_min, fit->x_max);
}

}  // namespace hsr::sim
