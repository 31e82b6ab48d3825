// `hsr sweep`: runs every point of a grid (sim/sweep/grid.h) with RunBench (every backend of a
// point on the same data in one call, so speedups are fair) and appends its rows to
// DIR/results.jsonl and DIR/results.csv.
//
// Files in DIR:
//   sweep.json     {"hsr_sweep": 1, "grid": <GridToJson>, "grid_id", "points"}: written once; a
//                  later run into DIR with a different grid is refused (one-line error naming
//                  both ids; use a new DIR). Shards of one grid share it.
//   results.jsonl  the rows of sim/bench/result_row.h ToJson plus "point_id", "point_index",
//                  "point_rows" (rows the point wrote), "status" ("ok" | "failed" |
//                  "skipped"), "error" (null or the message) and "shard" ("i/N" or null). A
//                  failed point writes one row per backend with its configuration and null
//                  measurements; so does a point whose Highway target this machine cannot run
//                  (status "skipped", error "target avx3: not supported by this CPU"), which is
//                  never run on another target.
//   results.csv    the same rows as CSV (sim/bench/result_csv.h), rebuilt from results.jsonl
//                  at start.
//   inspect/*.json per-head keys for softmax err=1e-3 of each recorded / fitted workload when the
//                  grid has softmax (sim/sweep/inspect_files.h): written once before the
//                  points, kept on resume; a failure there is a logged warning, not a failed
//                  sweep.
// Durability: all rows of a point go out in one write() on an O_APPEND descriptor, then fsync,
// JSONL first. At start a trailing line cut by a kill (no '\n', or not JSON) is dropped and so
// are the rows of a point with fewer rows than its point_rows; an unreadable line elsewhere is
// an error. Resume: points whose id already has rows (ok or failed) are skipped; retry_failed
// first removes the failed rows so those points run again.
// Failure: hsr::Error, std::bad_alloc or any std::exception thrown by one point becomes failed
// rows and the sweep goes on. There is no per-point timeout (the point runs in this process);
// a killed process leaves the point unfinished, and the rerun runs it again.
// Everything is validated (grid, every point, DIR/sweep.json) before anything is written.
// One process writes a folder at a time (flock on DIR/.lock; a second one gets an error).
#pragma once

#include <cstddef>
#include <functional>
#include <limits>
#include <map>
#include <string>

#include "sim/machine/bandwidth.h"
#include "sim/sweep/grid.h"

namespace hsr::sim {

struct SweepOptions {
  std::string out_dir;
  size_t shard = 0, shards = 1;  // run points with index % shards == shard
  bool retry_failed = false;
  // Stop after running this many points (tests: an interrupted run).
  size_t max_points = std::numeric_limits<size_t>::max();
  double oracle_budget_macs = 0x1p28;  // per point, as BenchConfig
  // DRAM read roofline by thread count, measured once per sweep (when absent here) and reused
  // by every point; tests may fill it to skip the probe. Null: a cache local to the run.
  std::map<size_t, ReadBandwidth>* read_cache = nullptr;
  // Called before each point runs; may throw (tests: a failing point).
  std::function<void(const SweepPoint&)> before_point;
  // One finished line per point / resume note (no '\n'); transient status while a point runs.
  std::function<void(const std::string&)> log;
  std::function<void(const std::string&)> status;
};

struct SweepSummary {
  size_t points = 0;   // in the grid
  size_t in_shard = 0;
  size_t skipped = 0;  // already in results.jsonl
  size_t ran = 0, failed = 0;
  size_t unavailable = 0;  // of ran: skipped, their target cannot run here
  size_t dropped_lines = 0;  // repaired at start (cut lines, incomplete points, retried)
  double seconds = 0;
};

// Throws hsr::Error on a bad grid, shard or DIR (before writing) and when a file cannot be
// written; a failing point does not throw.
SweepSummary RunSweep(const SweepGrid& grid, const SweepOptions& options);

// "i/N" with 0 <= i < N; throws hsr::Error "--shard: expected i/N with 0 <= i < N, got '...'".
void ParseShard(const std::string& text, size_t* shard, size_t* shards);

}  // namespace hsr::sim
