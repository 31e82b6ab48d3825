// Reading result folders for `hsr report`: DIR/results.jsonl (one JSON object per line, the
// rows of sim/bench/result_row.h plus the sweep's "point_id", "status", "error", "shard") and the
// optional DIR/sweep.json. Several folders (shards of one sweep) are merged into one set.
//
// Tolerant by design: unknown fields are kept, missing or null fields read as absent, and
// rows with "status": "failed" are collected apart. Strict where silence would mislead: a
// line that is not a JSON object is an hsr::Error naming file and line, except a truncated
// LAST line without its newline (a sweep killed mid-write), which is skipped with a warning.
//
// Merging: rows are identified by (point_id, backend, index) when they carry a point_id, else
// by their configuration (ConfigKey). Exact duplicates are dropped silently; an ok row replaces
// a failed one (a retried point); two different ok rows for one key keep the first read and
// add a warning naming both lines.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace hsr::sim {

struct ReportRow {
  std::string source;  // "DIR/results.jsonl:LINE"
  nlohmann::json raw;  // the object as read

  // Field access: absent for a missing key, null, or a value of another type.
  std::optional<double> Num(std::string_view key) const;
  // Strings as they are, numbers and booleans formatted ("2", "true"); "" when absent.
  std::string Str(std::string_view key) const;

  bool Failed() const { return Str("status") == "failed"; }
  // A point the sweep did not run because this machine cannot run its target (sweep.h).
  bool Skipped() const { return Str("status") == "skipped"; }
  bool IsHsr() const { return Str("backend").rfind("hsr", 0) == 0; }
  bool IsDense() const { return Str("backend").rfind("dense", 0) == 0; }
};

// The configuration of a row: every input field (backend, index, workload, seed, shapes,
// attention, alpha, threshold, threads, cold, ...) and none of the measured ones.
std::string ConfigKey(const ReportRow& row);

// Workload description without its n, d, dv and seed keys, so that rows of one workload
// family at different sizes and seeds fall into one series: "gaussian:m=1,heads=1,kv_heads=1".
std::string WorkloadFamily(const std::string& workload);

struct ResultSet {
  std::vector<std::string> dirs;
  std::vector<ReportRow> rows;    // ok rows (status missing or "ok"), merged, in read order
  std::vector<ReportRow> failed;  // failed rows not superseded by an ok row of their point
  std::vector<ReportRow> skipped;  // skipped rows (target not runnable where the sweep ran)
  // (path, sweep.json), keys in file order.
  std::vector<std::pair<std::string, nlohmann::ordered_json>> sweep_configs;
  // (path, DIR/inspect/NAME.json) per-head keys-for-err files (sim/report/inspect_section.h).
  std::vector<std::pair<std::string, nlohmann::json>> inspections;
  std::vector<std::string> warnings;  // one line each: conflicts, skipped truncated lines
  std::vector<std::string> notes;     // one line each: superseded failed rows, ...
  size_t lines_read = 0, duplicates_dropped = 0;
};

// Failed points among failed rows: a failed point writes one row per backend, so rows with one
// point_id count once (rows without a point_id count one each).
size_t FailedPoints(const std::vector<ReportRow>& failed);

// Parses one results.jsonl text; `path` names it in messages. Appends every row (failed ones
// too, not yet merged) to out.rows, skipped lines to out.warnings. Throws hsr::Error on a
// malformed line ("PATH:LINE: expected ...").
void ParseResultsText(const std::string& path, std::string_view text, ResultSet& out);

// Merges out.rows as described above: drops duplicates, moves failed rows to out.failed and
// skipped ones (status "skipped") to out.skipped.
void MergeResults(ResultSet& out);

// Reads and merges the folders. Throws hsr::Error for a missing folder, a folder without
// results.jsonl, or a malformed line.
ResultSet ReadResults(const std::vector<std::string>& dirs);

}  // namespace hsr::sim
