#include "sim/report/inspect_section.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "sim/report/tables.h"

namespace hsr::sim {
namespace {

namespace fs = std::filesystem;

std::optional<double> Field(const nlohmann::json& obj, const char* key) {
  if (!obj.is_object() || !obj.contains(key) || !obj[key].is_number()) return std::nullopt;
  const double v = obj[key].get<double>();
  return std::isfinite(v) ? std::optional<double>(v) : std::nullopt;
}

std::string Pct(const std::optional<double>& f) {
  return f ? fmt::format("{:.1f}%", 100 * *f) : std::string("-");
}

std::string Ratio(const std::optional<double>& a, const std::optional<double>& b) {
  return a && b && *b > 0 ? fmt::format("{:.2f}", *a / *b) : std::string("-");
}

// 1e-3 -> "1e-3"; other values as "%g".
std::string ErrText(double e) {
  const double k = std::round(std::log10(e));
  if (std::abs(std::pow(10.0, k) - e) <= 1e-9 * e) return fmt::format("1e{:.0f}", k);
  return fmt::format("{:g}", e);
}

// "3" from "npy:/x,layer=3,head=all,m=all"; "" when the spec has no layer key.
std::string LayerOf(const std::string& workload) {
  const size_t at = workload.find(",layer=");
  if (at == std::string::npos) return "";
  const size_t begin = at + 7, end = workload.find(',', begin);
  return workload.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

// "fitted:npy:DIR,layer=3,head=0" of a fitted description (the text before ",n="): the
// recording and head a fitted row was drawn from, whatever its n, m and seed.
std::string FittedSource(const std::string& workload) {
  if (workload.rfind("fitted:", 0) != 0) return "";
  return workload.substr(0, workload.find(",n="));
}

// "### Fitted workloads vs their recording" from the inspect files' fitted_checks
// (sim/sweep/inspect_files.h), with the largest n of the rows drawn from each: how far they
// extrapolate past the recording's n. "" when no file has a check.
std::string FittedSection(const ResultSet& set) {
  std::vector<std::vector<std::string>> table;
  std::set<std::string> seen;
  for (const auto& [path, j] : set.inspections) {
    if (!j.contains("fitted_checks") || !j["fitted_checks"].is_array()) continue;
    for (const auto& c : j["fitted_checks"]) {
      if (!c.is_object() || !c.contains("fitted") || !c["fitted"].is_string()) continue;
      const std::string source = FittedSource(c["fitted"].get<std::string>());
      if (source.empty() || !seen.insert(source).second) continue;
      const auto rec_n = Field(c, "recorded_n");
      double max_n = 0;
      for (const ReportRow& r : set.rows) {
        if (FittedSource(r.Str("workload")) == source) max_n = std::max(max_n, r.Num("n").value_or(0));
      }
      const nlohmann::json rec = c.value("recorded", nlohmann::json::object()),
                           fit = c.value("fitted_stats", nlohmann::json::object());
      const auto pair = [&](const char* key, bool pct) {
        const auto a = Field(rec, key), b = Field(fit, key);
        if (!a || !b) return std::string("-");
        return pct ? fmt::format("{:.2f}% / {:.2f}%", 100 * *a, 100 * *b)
                   : fmt::format("{:.3f} / {:.3f}", *a, *b);
      };
      table.push_back(
          {source, rec_n ? fmt::format("{:.0f}", *rec_n) : "-",
           max_n > 0 ? fmt::format("{:.0f}", max_n) : "-",
           rec_n && max_n > 0 ? fmt::format("{:.0f}x", max_n / *rec_n) : "-",
           pair("paper", true), pair("mass_above_b", false), pair("keys_true", true),
           pair("keys_engine", true)});
    }
  }
  if (table.empty()) return "";
  std::string out = "### Fitted workloads vs their recording\n\n";
  out +=
      "A fitted workload (sim/workload/generators/fitted.cc) draws keys and queries from a model "
      "of one recorded head: mean + principal components + residual, the recording's sink keys, "
      "and per query a fixed set of planted outlier keys with the recording's score gaps. Checked "
      "here at the recording's own n (64 fitted queries against 64 recorded ones; recorded / "
      "fitted): the fraction reported at the paper b, the softmax mass above it and the keys "
      "needed for softmax err=1e-3 (true minimum; what hsr-cpu's err= path reads). Rows at larger "
      "n extrapolate: the model adds bulk keys only (a query's outliers stay the same few), "
      "which nothing measured checks; `extrapolation` is the largest n of the rows over the "
      "recording's n.\n\n";
  out += MarkdownTable({"fitted workload", "recorded n", "largest n in rows", "extrapolation",
                        "reported at paper b", "mass above b", "keys for err (true)",
                        "keys for err (hsr-cpu)"},
                       table);
  return out + "\n";
}

}  // namespace

void ReadInspectFiles(const std::string& dir, ResultSet& out) {
  const fs::path folder = fs::path(dir) / "inspect";
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) return;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(folder, ec)) {
    if (e.is_regular_file(ec) && e.path().extension() == ".json") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  std::set<std::string> seen;
  for (const auto& [path, j] : out.inspections) seen.insert(fs::path(path).filename().string());
  for (const auto& f : files) {
    if (!seen.insert(f.filename().string()).second) continue;  // the same workload, another shard
    std::ifstream in(f, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    nlohmann::json j = nlohmann::json::parse(s.str(), nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("heads") || !j["heads"].is_array()) {
      out.warnings.push_back(fmt::format("{}: expected the JSON of hsr inspect (an object with a "
                                         "heads array), got something else; skipped",
                                         f.string()));
      continue;
    }
    out.inspections.emplace_back(f.string(), std::move(j));
  }
}

std::string InspectSection(const ResultSet& set) {
  if (set.inspections.empty()) return "";
  std::set<double> errs;
  std::set<size_t> queries;
  std::vector<std::vector<std::string>> table;
  for (const auto& [path, j] : set.inspections) {
    const std::string workload = j.value("workload", std::string("?"));
    std::string label;
    if (j.contains("grid_workloads") && j["grid_workloads"].is_array()) {
      for (const auto& g : j["grid_workloads"]) {
        if (g.is_string()) label += (label.empty() ? "" : ", ") + g.get<std::string>();
      }
    }
    if (label.empty()) label = workload;
    if (const auto q = Field(j, "queries")) queries.insert(static_cast<size_t>(*q));
    const std::string layer = LayerOf(workload);
    for (const auto& h : j["heads"]) {
      const nlohmann::json k = h.is_object() && h.contains("keys_for_err")
                                   ? h["keys_for_err"] : nlohmann::json::object();
      if (const auto e = Field(k, "err"); e && *e > 0) errs.insert(*e);
      const auto head = Field(h, "q_head");
      const std::string where =
          (layer.empty() ? "" : "L" + layer + "/") +
          (head ? fmt::format("h{:.0f}", *head) : std::string("h?"));
      const auto tau = Field(k, "tau"), sketch = Field(k, "sketch"), engine = Field(k, "engine"),
                 truth = Field(k, "true");
      table.push_back({label, where, Pct(tau), Pct(sketch), Pct(engine), Pct(truth),
                       Ratio(sketch, truth), Ratio(tau, sketch)});
    }
  }
  std::string err_text;
  for (double e : errs) err_text += (err_text.empty() ? "" : ", ") + ErrText(e);
  if (err_text.empty()) err_text = "E";
  std::string q_text;
  for (size_t q : queries) q_text += (q_text.empty() ? "" : ", ") + std::to_string(q);
  std::string out = fmt::format("## Keys needed for softmax err={}, per head\n\n", err_text);
  out += fmt::format(
      "From `hsr inspect` on each recorded or fitted workload of the sweep (a fitted workload: "
      "the recording it was fitted to, every head of its layer; {} sampled queries per head, "
      "files in `inspect/`). Each cell is the median over the sampled queries of the share of "
      "the visible keys a query must read so that its dropped softmax mass is <= err: under "
      "the tau certificate (every dropped key counted at the threshold), the sketch8 per-key "
      "certificate, what hsr-cpu's err= path reads (100% = dense fallback), and the true "
      "minimum (the fewest top keys by exact score holding 1 - err of the mass). "
      "sketch/true near 1 means the sketch certificate is nearly tight; tau/sketch is what "
      "per-key bounds save over the tau certificate. How to read it: heads where even the true "
      "minimum is large are not HSR-friendly (their attention is diffuse), and no certificate "
      "can help there.\n\n",
      q_text.empty() ? "?" : q_text);
  out += MarkdownTable({"workload", "layer/head", "tau %", "sketch %", "hsr-cpu %",
                        "true minimum %", "sketch/true", "tau/sketch"},
                       table);
  return out + "\n" + FittedSection(set);
}

}  // namespace hsr::sim
