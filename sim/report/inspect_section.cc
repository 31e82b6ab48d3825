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
  return out + "\n";
}

}  // namespace hsr::sim
