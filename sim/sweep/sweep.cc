#include "sim/sweep/sweep.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <new>
#include <optional>
#include <set>
#include <sstream>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "core/base/error.h"
#include "sim/bench/backends.h"
#include "sim/bench/bench.h"
#include "sim/bench/result_csv.h"
#include "sim/bench/result_row.h"
#include "sim/machine/build_info.h"
#include "sim/machine/timing.h"
#include "sim/stats/summary.h"
#include "sim/sweep/inspect_files.h"
#include "sim/workload/workload.h"
#include "verify/targets.h"

namespace hsr::sim {
namespace {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

constexpr int kSweepFormat = 1;

std::optional<std::string> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  HSR_CHECK(!in.bad(), "sweep: expected to read {}, got an I/O error", path.string());
  return s.str();
}

void WriteAll(int fd, const std::string& data, const fs::path& path) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t w = ::write(fd, data.data() + done, data.size() - done);
    if (w < 0 && errno == EINTR) continue;
    HSR_CHECK(w > 0, "sweep: expected to write {}, got {}", path.string(), std::strerror(errno));
    done += static_cast<size_t>(w);
  }
  HSR_CHECK(::fsync(fd) == 0, "sweep: expected to fsync {}, got {}", path.string(),
            std::strerror(errno));
}

void SyncDir(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

// One write() of all of data at the end of path (O_APPEND), then fsync.
void AppendDurable(const fs::path& path, const std::string& data) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  HSR_CHECK(fd >= 0, "sweep: expected to open {} for appending, got {}", path.string(),
            std::strerror(errno));
  try {
    WriteAll(fd, data, path);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
}

// Replaces path with data: a temporary file beside it, fsync, rename, fsync of the folder.
void ReplaceDurable(const fs::path& path, const std::string& data) {
  const fs::path tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_TRUNC | O_CREAT | O_CLOEXEC, 0644);
  HSR_CHECK(fd >= 0, "sweep: expected to create {}, got {}", tmp.string(), std::strerror(errno));
  try {
    WriteAll(fd, data, tmp);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  HSR_CHECK(::rename(tmp.c_str(), path.c_str()) == 0, "sweep: expected to rename {} to {}, got {}",
            tmp.string(), path.string(), std::strerror(errno));
  SyncDir(path.parent_path());
}

// Columns of results.csv: every key of a result row, then the sweep's own.
const std::vector<std::string>& CsvColumns() {
  static const std::vector<std::string> cols = [] {
    std::vector<std::string> c;
    const ojson row = ToJson(ResultRow{});
    for (auto it = row.begin(); it != row.end(); ++it) c.push_back(it.key());
    for (const char* k : {"point_id", "point_index", "point_rows", "status", "error", "shard"}) {
      c.emplace_back(k);
    }
    return c;
  }();
  return cols;
}

struct ExistingRows {
  std::vector<std::string> lines;  // kept lines, without '\n'
  std::set<std::string> done;      // point ids with all their rows
  size_t dropped = 0;
  bool rewrite = false;            // kept lines differ from the file beyond a cut tail
  size_t keep_bytes = 0;           // file prefix holding exactly the kept lines (no rewrite)
};

// Reads results.jsonl and decides which lines to keep (see sweep.h).
ExistingRows LoadRows(const fs::path& path, const std::string& text, bool retry_failed) {
  ExistingRows ex;
  struct Parsed {
    std::string line;
    std::string id, status;
    size_t rows = 0;
  };
  std::vector<Parsed> parsed;
  size_t pos = 0, line_no = 0;
  while (pos < text.size()) {
    ++line_no;
    const size_t nl = text.find('\n', pos);
    const bool last = nl == std::string::npos || nl + 1 == text.size();
    std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    const size_t next = nl == std::string::npos ? text.size() : nl + 1;
    ojson row;
    bool ok = nl != std::string::npos;  // a line without '\n' was cut by a kill
    if (ok) {
      try {
        row = ojson::parse(line);
        ok = row.is_object() && row.contains("point_id") && row["point_id"].is_string() &&
             row.contains("point_rows") && row["point_rows"].is_number_unsigned() &&
             row.contains("status") && row["status"].is_string();
      } catch (const ojson::parse_error&) {
        ok = false;
      }
    }
    if (!ok) {
      HSR_CHECK(last, "sweep: {} line {}: expected a result row written by hsr sweep, got '{}'",
                path.string(), line_no, line.substr(0, 60));
      ++ex.dropped;  // the cut tail of a killed run
      break;
    }
    parsed.push_back({std::move(line), row["point_id"].get<std::string>(),
                      row["status"].get<std::string>(), row["point_rows"].get<size_t>()});
    ex.keep_bytes = next;
    pos = next;
  }
  std::map<std::string, size_t> count;
  std::set<std::string> failed;
  for (const auto& p : parsed) {
    ++count[p.id];
    if (p.status != "ok") failed.insert(p.id);
  }
  for (const auto& p : parsed) {
    const bool complete = count[p.id] == p.rows;
    const bool retry = retry_failed && failed.count(p.id);
    if (!complete || retry) {
      ++ex.dropped;
      ex.rewrite = true;
      continue;
    }
    ex.done.insert(p.id);
    ex.lines.push_back(p.line);
  }
  return ex;
}

std::string FormatDuration(double s) {
  if (s < 60) return fmt::format("{:.0f}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", static_cast<int>(s / 60), static_cast<int>(s) % 60);
  return fmt::format("{}h{:02}m", static_cast<int>(s / 3600), static_cast<int>(s / 60) % 60);
}

// The rows of a point that did not measure: its configuration, null measurements, status
// "failed" (it threw; error = the message) or "skipped" (error = why it could not run here).
std::vector<ojson> UnmeasuredRows(const SweepPoint& p, const PointConfig& pc,
                                  const std::string& status, const std::string& err) {
  std::vector<ojson> rows;
  const auto num = [&](const char* k) -> ojson {
    const auto it = p.settings.find(k);
    if (it == p.settings.end()) return nullptr;
    return static_cast<uint64_t>(std::stoull(it->second));
  };
  for (const auto& backend : pc.bench.backends) {
    ResultRow r;
    r.commit = BuildCommit();
    r.host = HostName();
    {
      const verify::ForceTarget force(pc.bench.target.unavailable.empty() ? pc.bench.target.bits
                                                                          : 0);
      r.cpu_target = CpuTargetName();  // the target the point ran (or would have run) under
    }
    r.threads = BackendThreads(backend, pc.bench.threads);
    r.backend = backend;
    r.workload = pc.spec.ToString();
    r.mode = p.prefill ? "prefill" : "decode";
    r.causal = pc.bench.causal.value_or(false);
    r.causal_source = pc.bench.causal ? "flag" : "";
    r.attention = std::string(ToString(pc.bench.params.kind));
    if (pc.bench.params.kind == AttentionKind::kRelu) r.alpha = pc.bench.params.alpha;
    if (pc.bench.threshold) r.threshold = pc.bench.threshold->ToString();
    if (backend.rfind("hsr-", 0) == 0) r.index = pc.bench.index;
    r.repeats = pc.bench.sampling.min_rounds;
    r.target = pc.bench.target.name;
    ojson j = ToJson(r);
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it->is_number() && it.key() != "threads" && it.key() != "repeats" &&
          it.key() != "alpha") {
        *it = nullptr;  // not measured
      }
    }
    j["cold"] = nullptr;
    if (!pc.bench.causal) {  // the workload's own mask, unknown when it did not load
      j["causal"] = nullptr;
      j["causal_source"] = nullptr;
    }
    if (status == "skipped") j["cpu_target"] = nullptr;  // nothing ran
    for (const char* k : {"n", "m", "d", "seed"}) j[k] = num(k);
    j["status"] = status;
    j["error"] = err;
    rows.push_back(std::move(j));
  }
  return rows;
}

}  // namespace

void ParseShard(const std::string& text, size_t* shard, size_t* shards) {
  const size_t slash = text.find('/');
  std::optional<uint64_t> i, n;
  if (slash != std::string::npos) {
    i = ParseUnsigned(text.substr(0, slash));
    n = ParseUnsigned(text.substr(slash + 1));
  }
  HSR_CHECK(i && n && *n >= 1 && *i < *n,
            "--shard: expected i/N with 0 <= i < N (e.g. 0/4), got '{}'", text);
  *shard = *i;
  *shards = *n;
}

SweepSummary RunSweep(const SweepGrid& grid, const SweepOptions& opt) {
  const double t_start = NowMicros();
  HSR_CHECK(!opt.out_dir.empty(), "sweep: expected an output folder (--out DIR), got none");
  HSR_CHECK(opt.shards >= 1 && opt.shard < opt.shards,
            "--shard: expected i/N with 0 <= i < N, got {}/{}", opt.shard, opt.shards);
  // 1. Validate everything before writing anything.
  const std::vector<SweepPoint> points = EnumeratePoints(grid);
  ojson meta;
  meta["hsr_sweep"] = kSweepFormat;
  meta["grid"] = GridToJson(grid);
  const std::string grid_id = StableHash(meta["grid"].dump());
  meta["grid_id"] = grid_id;
  meta["points"] = points.size();
  const fs::path dir(opt.out_dir);
  const fs::path meta_path = dir / "sweep.json", jsonl_path = dir / "results.jsonl",
                 csv_path = dir / "results.csv";
  HSR_CHECK(!fs::exists(dir) || fs::is_directory(dir),
            "sweep: expected --out to be a folder, got the file {}", dir.string());
  const std::optional<std::string> old_meta = ReadFile(meta_path);
  if (old_meta) {
    ojson old;
    try {
      old = ojson::parse(*old_meta);
    } catch (const ojson::parse_error&) {
      Fail("sweep: {}: expected JSON written by hsr sweep, got a syntax error", meta_path.string());
    }
    const std::string old_id =
        old.contains("grid") ? StableHash(old["grid"].dump()) : std::string("none");
    HSR_CHECK(old_id == grid_id,
              "sweep: {} holds grid {} and this run's grid is {}; expected the same grid to "
              "resume (use a new --out folder, or compare with hsr sweep --print-grid)",
              meta_path.string(), old_id, grid_id);
  } else {
    HSR_CHECK(!fs::exists(jsonl_path),
              "sweep: {} exists without sweep.json; expected a folder written by hsr sweep",
              jsonl_path.string());
  }

  // 2. Folder, sweep.json, repaired results.jsonl, results.csv rebuilt from it.
  std::error_code ec;
  fs::create_directories(dir, ec);
  HSR_CHECK(!ec, "sweep: expected to create {}, got {}", dir.string(), ec.message());
  // One writer per folder: a second hsr sweep into DIR (say, two shards) would interleave.
  const fs::path lock_path = dir / ".lock";
  const int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  HSR_CHECK(lock_fd >= 0, "sweep: expected to create {}, got {}", lock_path.string(),
            std::strerror(errno));
  struct LockGuard {
    int fd;
    ~LockGuard() { ::close(fd); }  // releases the flock
  } lock_guard{lock_fd};
  HSR_CHECK(::flock(lock_fd, LOCK_EX | LOCK_NB) == 0,
            "sweep: expected no other hsr sweep writing {}, got one holding {} (give each shard "
            "its own --out folder)", dir.string(), lock_path.string());
  HSR_CHECK(old_meta || !fs::exists(meta_path),
            "sweep: expected {} to stay absent while checking, got one written meanwhile; run "
            "again", meta_path.string());
  const std::optional<std::string> old_rows = ReadFile(jsonl_path);
  ExistingRows ex;
  if (old_rows) ex = LoadRows(jsonl_path, *old_rows, opt.retry_failed);
  if (!old_meta) ReplaceDurable(meta_path, meta.dump(2) + "\n");
  std::string kept;
  for (const auto& line : ex.lines) kept += line + "\n";
  if (old_rows && (ex.rewrite || ex.keep_bytes != old_rows->size())) {
    ReplaceDurable(jsonl_path, kept);
  }
  std::string csv = CsvHeader(CsvColumns());
  for (const auto& line : ex.lines) csv += CsvLine(ojson::parse(line), CsvColumns());
  ReplaceDurable(csv_path, csv);

  SweepSummary sum;
  sum.points = points.size();
  sum.dropped_lines = ex.dropped;
  std::vector<const SweepPoint*> todo;
  double todo_weight = 0;
  for (const auto& p : points) {
    if (p.index % opt.shards != opt.shard) continue;
    ++sum.in_shard;
    if (ex.done.count(p.id)) {
      ++sum.skipped;
      continue;
    }
    todo.push_back(&p);
    todo_weight += p.weight;
  }
  const std::string shard_text =
      opt.shards > 1 ? fmt::format("{}/{}", opt.shard, opt.shards) : std::string();
  if (opt.log) {
    opt.log(fmt::format("sweep {}: {} points{}, {} already in {}{}, {} to run", grid_id,
                        points.size(),
                        opt.shards > 1 ? fmt::format(", {} in shard {}", sum.in_shard, shard_text)
                                       : std::string(),
                        sum.skipped, jsonl_path.string(),
                        ex.dropped ? fmt::format(" ({} cut or incomplete lines dropped)",
                                                 ex.dropped)
                                   : std::string(),
                        todo.size()));
  }

  // Per-head keys for softmax err=1e-3 of recorded / fitted workloads (sim/sweep/inspect_files.h):
  // once per folder (an existing file is kept), failures are warnings.
  const SweepInspectResult inspected = WriteSweepInspections(grid, opt.out_dir);
  if (opt.log) {
    for (const auto& line : inspected.logs) opt.log(line);
    for (const auto& w : inspected.warnings) opt.log("warning: " + w);
  }

  // 3. Run.
  std::map<size_t, ReadBandwidth> local_cache;
  std::map<size_t, ReadBandwidth>* read_cache = opt.read_cache ? opt.read_cache : &local_cache;
  const double t_run = NowMicros();
  double done_weight = 0;
  for (size_t k = 0; k < todo.size() && sum.ran < opt.max_points; ++k) {
    const SweepPoint& p = *todo[k];
    const std::string head = fmt::format("[{}/{}] {} {}", k + 1, todo.size(), p.id, p.Summary());
    PointConfig pc = MakePointConfig(p.settings, p.prefill);  // validated in EnumeratePoints
    pc.bench.oracle_budget_macs = opt.oracle_budget_macs;
    pc.bench.read_cache = read_cache;
    if (opt.status) {
      pc.bench.progress = [&](const std::string& s) { opt.status(head + ": " + s); };
    }
    std::vector<ojson> rows;
    std::string error;
    std::string outcome;
    const double t0 = NowMicros();
    const std::string& unavailable = pc.bench.target.unavailable;
    const std::string skip_reason =
        unavailable.empty() ? std::string()
                            : fmt::format("target {}: {}", pc.bench.target.name, unavailable);
    const auto measure = [&] {
      if (opt.before_point) opt.before_point(p);
      auto source = MakeWorkloadSource(pc.spec);
      if (opt.status) opt.status(head + ": generating " + source->Describe());
      const Workload w = source->Make();
      const BenchResult res = RunBench(w, pc.bench);
      for (const auto& r : res.rows) {
        ojson j = ToJson(r);
        j["status"] = "ok";
        j["error"] = nullptr;
        rows.push_back(std::move(j));
        if (r.speedup && r.backend != pc.bench.backends.front()) {
          outcome += fmt::format(" {} {:.2f}x", r.backend, *r.speedup);
          if (r.speedup_lo) {
            outcome += fmt::format(" [{:.2f}, {:.2f}]", *r.speedup_lo, *r.speedup_hi);
          }
        }
      }
    };
    if (!skip_reason.empty()) {
      rows = UnmeasuredRows(p, pc, "skipped", skip_reason);
    } else {
      try {
        measure();
      } catch (const Error& e) {
        error = e.what();
      } catch (const std::bad_alloc&) {
        error = "out of memory (std::bad_alloc)";
      } catch (const std::exception& e) {
        error = std::string("unexpected error: ") + e.what();
      }
    }
    if (!error.empty()) rows = UnmeasuredRows(p, pc, "failed", error);
    std::string jsonl, csv_lines;
    for (auto& j : rows) {
      j["point_id"] = p.id;
      j["point_index"] = p.index;
      j["point_rows"] = rows.size();
      j["shard"] = shard_text.empty() ? ojson(nullptr) : ojson(shard_text);
      jsonl += j.dump() + "\n";
      csv_lines += CsvLine(j, CsvColumns());
    }
    AppendDurable(jsonl_path, jsonl);  // JSONL first: the CSV is rebuilt from it on resume
    AppendDurable(csv_path, csv_lines);
    ++sum.ran;
    if (!error.empty()) ++sum.failed;
    if (!unavailable.empty()) ++sum.unavailable;
    done_weight += p.weight;
    const double now = NowMicros();
    const double eta = (now - t_run) / 1e6 / done_weight * (todo_weight - done_weight);
    if (opt.log) {
      const std::string what = !error.empty()         ? "FAILED: " + error
                               : !skip_reason.empty() ? "skipped: " + skip_reason
                                                      : std::string("ok");
      opt.log(fmt::format("{}: {} in {:.1f}s{}; ETA {}", head, what, (now - t0) / 1e6, outcome,
                          k + 1 == todo.size() ? "done" : FormatDuration(eta)));
    }
  }
  sum.seconds = (NowMicros() - t_start) / 1e6;
  return sum;
}

}  // namespace hsr::sim
