#include "sim/report/rows.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "core/base/error.h"
#include "sim/report/inspect_section.h"

namespace hsr::sim {
namespace {

namespace fs = std::filesystem;

// Input fields of a row (docs/design.md §4), in ToJson order; measured fields are left out.
constexpr const char* kConfigFields[] = {
    "backend", "index", "workload", "seed", "n", "m", "d", "dv", "heads", "kv_heads", "mode",
    "causal", "causal_source", "alpha", "attention", "threshold", "scale", "threads", "target",
    "repeats", "cold"};

std::string IdentityKey(const ReportRow& row) {
  const std::string pid = row.Str("point_id");
  if (pid.empty()) return "config:" + ConfigKey(row);
  return fmt::format("point_id={}|backend={}|index={}", pid, row.Str("backend"), row.Str("index"));
}

// The row without fields that legitimately differ between copies of one result.
nlohmann::json Comparable(const ReportRow& row) {
  nlohmann::json j = row.raw;
  j.erase("shard");
  return j;
}

std::string Snippet(std::string_view line) {
  constexpr size_t kMax = 60;
  std::string s(line.substr(0, kMax));
  if (line.size() > kMax) s += "...";
  return s;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  HSR_CHECK(in.good(), "report: expected a readable file {}, got an error opening it",
            path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::optional<double> ReportRow::Num(std::string_view key) const {
  const auto it = raw.find(key);
  if (it == raw.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

std::string ReportRow::Str(std::string_view key) const {
  const auto it = raw.find(key);
  if (it == raw.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_float()) return fmt::format("{}", it->get<double>());
  if (it->is_number() || it->is_boolean()) return it->dump();
  return "";
}

std::string ConfigKey(const ReportRow& row) {
  std::string key;
  for (const char* f : kConfigFields) key += fmt::format("{}={};", f, row.Str(f));
  return key;
}

std::string WorkloadFamily(const std::string& workload) {
  const size_t colon = workload.find(':');
  if (colon == std::string::npos) return workload;
  std::string out = workload.substr(0, colon + 1);
  std::string_view rest = std::string_view(workload).substr(colon + 1);
  bool first = true;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    const std::string_view name = item.substr(0, item.find('='));
    if (name == "n" || name == "d" || name == "dv" || name == "seed") continue;
    if (!first) out += ',';
    out += item;
    first = false;
  }
  if (first) out.pop_back();  // nothing left after the kind: drop the ':'
  return out;
}

size_t FailedPoints(const std::vector<ReportRow>& failed) {
  std::set<std::string> ids;
  size_t anonymous = 0;
  for (const auto& r : failed) {
    if (r.Str("point_id").empty()) {
      ++anonymous;
    } else {
      ids.insert(r.Str("point_id"));
    }
  }
  return ids.size() + anonymous;
}

void ParseResultsText(const std::string& path, std::string_view text, ResultSet& out) {
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t nl = text.find('\n', pos);
    const bool has_newline = nl != std::string_view::npos;
    std::string_view line = text.substr(pos, has_newline ? nl - pos : std::string_view::npos);
    pos = has_newline ? nl + 1 : text.size();
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    ++out.lines_read;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) {
      if (!has_newline) {  // last line, cut short: a sweep killed while appending
        out.warnings.push_back(fmt::format(
            "{}:{}: skipped a truncated last line (no newline, not a JSON object: '{}'); the "
            "sweep was probably interrupted while writing it", path, line_no, Snippet(line)));
        --out.lines_read;
        continue;
      }
      Fail("{}:{}: expected one JSON object per line, got '{}'", path, line_no, Snippet(line));
    }
    out.rows.push_back(ReportRow{fmt::format("{}:{}", path, line_no), std::move(j)});
  }
}

void MergeResults(ResultSet& out) {
  std::vector<ReportRow> all = std::move(out.rows);
  out.rows.clear();
  std::vector<ReportRow> failed = std::move(out.failed);
  out.failed.clear();
  std::set<std::string> skipped_keys;
  for (auto& r : all) {
    if (r.Skipped()) {
      if (skipped_keys.insert(IdentityKey(r)).second) {
        out.skipped.push_back(std::move(r));
      } else {
        ++out.duplicates_dropped;
      }
      continue;
    }
    (r.Failed() ? failed : out.rows).push_back(std::move(r));
  }

  // Ok rows: first of each key wins; different copies are conflicts.
  std::vector<ReportRow> kept;
  std::map<std::string, size_t> by_key;
  for (auto& r : out.rows) {
    const std::string key = IdentityKey(r);
    const auto [it, inserted] = by_key.emplace(key, kept.size());
    if (inserted) {
      kept.push_back(std::move(r));
      continue;
    }
    ++out.duplicates_dropped;
    const ReportRow& first = kept[it->second];
    if (Comparable(first) != Comparable(r)) {
      out.warnings.push_back(fmt::format(
          "conflicting duplicate rows for {} {} n={} d={}: {} and {} differ; kept {}",
          r.Str("backend"), WorkloadFamily(r.Str("workload")), r.Str("n"), r.Str("d"),
          first.source, r.source, first.source));
    }
  }
  out.rows = std::move(kept);

  // Failed rows: dropped when an ok row has the same key or the same point_id (retried).
  std::set<std::string> ok_keys, ok_points;
  for (const auto& r : out.rows) {
    ok_keys.insert(IdentityKey(r));
    if (!r.Str("point_id").empty()) ok_points.insert(r.Str("point_id"));
  }
  std::set<std::string> failed_keys;
  size_t superseded = 0;
  for (auto& r : failed) {
    const std::string key = IdentityKey(r);
    const std::string pid = r.Str("point_id");
    if (ok_keys.count(key) || (!pid.empty() && ok_points.count(pid))) {
      ++superseded;
      continue;
    }
    if (!failed_keys.insert(key).second) {
      ++out.duplicates_dropped;
      continue;
    }
    out.failed.push_back(std::move(r));
  }
  if (superseded > 0) {
    out.notes.push_back(fmt::format(
        "{} failed record(s) superseded by ok rows of the same point (retried on resume)",
        superseded));
  }
}

ResultSet ReadResults(const std::vector<std::string>& dirs) {
  HSR_CHECK(!dirs.empty(), "report: expected at least one result folder, got none");
  ResultSet out;
  for (const auto& dir : dirs) {
    const fs::path p(dir);
    std::error_code ec;
    HSR_CHECK(fs::is_directory(p, ec), "report: expected a result folder written by hsr sweep, "
              "got '{}' ({})", dir, fs::exists(p, ec) ? "not a directory" : "no such directory");
    const fs::path results = p / "results.jsonl";
    HSR_CHECK(fs::is_regular_file(results, ec),
              "report: expected {} (written by hsr sweep), got no such file", results.string());
    out.dirs.push_back(dir);
    ParseResultsText(results.string(), ReadFile(results), out);
    const fs::path sweep = p / "sweep.json";
    if (fs::is_regular_file(sweep, ec)) {
      nlohmann::ordered_json j = nlohmann::ordered_json::parse(ReadFile(sweep), nullptr, false);
      if (j.is_discarded()) {
        out.warnings.push_back(fmt::format("{}: not valid JSON; configuration taken from the "
                                           "rows only", sweep.string()));
      } else {
        out.sweep_configs.emplace_back(sweep.string(), std::move(j));
      }
    }
    ReadInspectFiles(dir, out);
  }
  MergeResults(out);
  return out;
}

}  // namespace hsr::sim
