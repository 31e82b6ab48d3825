// Sweep runner (sim/sweep/sweep.h) and grid (sim/sweep/grid.h): strict grid reading, deterministic
// points, resume after an interruption and after a cut line, shards, failed points, CSV.
// Tiny grids (n <= 512, d = 16, 1 repeat, cold off) and a pre-filled read roofline, so the
// whole file runs in seconds; nothing here is timed.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <new>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/base/error.h"
#include "sim/bench/result_csv.h"
#include "sim/bench/targets.h"
#include "sim/sweep/grid.h"
#include "sim/sweep/inspect_files.h"
#include "sim/sweep/sweep.h"

namespace hsr::sim {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// A fresh empty folder per test.
fs::path TempDir(const std::string& name) {
  const fs::path p = fs::temp_directory_path() /
                     ("hsr_sweep_test_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(p);
  return p;
}

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<json> Rows(const fs::path& dir) {
  std::vector<json> rows;
  std::istringstream in(Slurp(dir / "results.jsonl"));
  std::string line;
  while (std::getline(in, line)) rows.push_back(json::parse(line));
  return rows;
}

// Everything about a row but its timings (those differ run to run).
std::string Identity(const json& r) {
  json id;
  for (const char* k : {"point_id", "point_index", "backend", "index", "workload", "seed", "n", "m",
                        "d", "alpha", "attention", "threshold", "mode", "causal", "threads",
                        "status", "reported_mean", "oracle_rows"}) {
    id[k] = r.at(k);
  }
  return id.dump();
}

std::multiset<std::string> Identities(const fs::path& dir) {
  std::multiset<std::string> s;
  for (const auto& r : Rows(dir)) s.insert(Identity(r));
  return s;
}

std::set<std::string> PointIds(const fs::path& dir) {
  std::set<std::string> s;
  for (const auto& r : Rows(dir)) s.insert(r.at("point_id").get<std::string>());
  return s;
}

// Quick grid: gaussian n = 256, 512, d = 16, relu alpha 1, 2 + softmax, three backends.
SweepGrid Tiny() { return QuickGrid(); }

class SweepTest : public ::testing::Test {
 protected:
  SweepOptions Options(const fs::path& dir) {
    SweepOptions o;
    o.out_dir = dir.string();
    o.read_cache = &cache_;
    return o;
  }
  // A fake roofline (the rows' roofline_frac is meaningless here; nothing reads it).
  std::map<size_t, ReadBandwidth> cache_{{1, ReadBandwidth{10.0, 9.0, 11.0, 1 << 20, 1, 1}}};
};

TEST(SweepGridTest, RangesAndRoundTrip) {
  const SweepGrid g = GridFromJsonText(
      R"({"n": "2^4..2^6,100", "d": [8, "16"], "alpha": "1..3", "attention": "relu,softmax",
          "threshold": ["b=0.50", "paper"], "backend_max_n": {"dense-ref": 32},
          "backend": ["dense-ref", "dense-hwy"], "repeats": 2, "causal": "on,off"})",
      "test");
  EXPECT_EQ(g.causal, (std::vector<std::string>{"on", "off"}));
  EXPECT_EQ(g.n, (std::vector<uint64_t>{16, 32, 64, 100}));
  EXPECT_EQ(g.d, (std::vector<uint64_t>{8, 16}));
  EXPECT_EQ(g.alpha, (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(g.threshold, (std::vector<std::string>{"b=0.5", "paper"}));  // canonical spelling
  const SweepGrid back = GridFromJson(json::parse(GridToJson(g).dump()));
  EXPECT_EQ(GridToJson(back).dump(), GridToJson(g).dump());
  // Default and quick grids read back as themselves.
  for (const SweepGrid& x : {DefaultGrid(), QuickGrid()}) {
    EXPECT_EQ(GridToJson(GridFromJson(json::parse(GridToJson(x).dump()))).dump(),
              GridToJson(x).dump());
  }
}

TEST(SweepGridTest, PointsAreDeterministicAndCollapseAxesThatDoNotApply) {
  const auto a = EnumeratePoints(Tiny());
  const auto b = EnumeratePoints(Tiny());
  // 2 n x (relu alpha 1, 2 + softmax without alpha) = 6 points.
  ASSERT_EQ(a.size(), 6u);
  std::set<std::string> ids;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].id, b[i].id);
    EXPECT_EQ(a[i].index, i);
    EXPECT_EQ(a[i].id.size(), 16u);
    ids.insert(a[i].id);
    EXPECT_EQ(a[i].settings.count("alpha"), a[i].settings.at("attention") == "relu" ? 1u : 0u);
  }
  EXPECT_EQ(ids.size(), a.size());
  // n is outermost: the first half of the points are n = 256.
  EXPECT_EQ(a[0].settings.at("n"), "256");
  EXPECT_EQ(a[5].settings.at("n"), "512");

  // A recorded workload has its own n and d: the n and d axes give it one point, not four.
  SweepGrid rec = Tiny();
  rec.workload = {std::string("npy:") + HSR_SOURCE_DIR +
                  "/sim/workload/io/testdata/tinylm-code-12-f32"};
  rec.d = {16, 32};
  rec.attention = {"softmax"};
  EXPECT_EQ(EnumeratePoints(rec).size(), 1u);

  // backend_max_n drops dense-ref from the n = 512 points only.
  SweepGrid capped = Tiny();
  capped.backend_max_n = {{"dense-ref", 256}};
  for (const auto& p : EnumeratePoints(capped)) {
    EXPECT_EQ(p.settings.at("backend").find("dense-ref") != std::string::npos,
              p.settings.at("n") == "256");
  }
  // The causal axis: one point per value, its setting passed on; absent: no setting (each
  // workload's own mask); prefill-causal is causal on.
  SweepGrid causal = Tiny();
  causal.causal = {"on", "off"};
  const auto cp = EnumeratePoints(causal);
  ASSERT_EQ(cp.size(), 12u);
  EXPECT_EQ(cp[0].settings.at("causal"), "on");
  EXPECT_EQ(cp[3].settings.at("causal"), "off");
  for (const auto& p : a) EXPECT_EQ(p.settings.count("causal"), 0u);
  causal.causal = {"on"};
  causal.mode = {"prefill-causal"};
  for (const auto& p : EnumeratePoints(causal)) EXPECT_EQ(p.settings.at("causal"), "on");
  // err= thresholds pair with softmax only.
  SweepGrid err = Tiny();
  err.threshold = {"err=0.01"};
  for (const auto& p : EnumeratePoints(err)) EXPECT_EQ(p.settings.at("attention"), "softmax");
}

TEST(SweepGridTest, BadGridsFailWithOneLineBeforeAnyFileIsWritten) {
  const std::vector<std::string> bad = {
      R"({"n": [256], "colour": "red"})",           // unknown key
      R"({"n": "many"})",                            // not an integer list
      R"({"n": [256, -1]})",                         // negative
      R"({"n": []})",                                // empty list
      R"({"n": [256, 256]})",                        // repeated value
      R"({"n": "2^9..2^4"})",                        // empty range
      R"({"d": [16.5]})",                            // not an integer
      R"({"backend": ["dense-hwy", "warp-drive"]})", // unknown backend
      R"({"index": ["kdtree"]})",                    // unknown index
      R"({"workload": ["brownian"]})",               // unknown workload kind
      R"({"workload": ["gaussian:n=256"], "n": [512]})",  // spec and grid both set n
      R"({"workload": ["gaussian:colour=1"]})",      // unknown workload key
      R"({"workload": ["fitted:npy:/nonexistent,n=64"]})",  // missing recording
      R"({"threshold": ["median"]})",                // unknown policy
      R"({"attention": ["relu"], "alpha": [0]})",    // alpha out of range
      R"({"mode": ["train"]})",                      // unknown mode
      R"({"causal": ["yes"]})",                      // unknown mask setting
      R"({"causal": true})",                         // not a string
      R"({"mode": ["prefill-causal"], "causal": ["off"]})",  // contradicting masks
      R"({"repeats": "three"})",                     // wrong type
      R"({"target": ["avx9"]})",                     // unknown target
      R"({"budget": 0})",                            // budget <= 0
      R"({"ci_width": 1})",                          // interval width outside (0, 1)
      R"({"backend": ["dense-hwy"], "backend_max_n": {"hsr-cpu": 4}})",  // not in backend list
      R"(["n", 256])",                               // not an object
      R"({"n": [256)",                               // not JSON
  };
  for (const auto& text : bad) {
    const fs::path dir = TempDir("bad");
    SweepOptions o;
    o.out_dir = dir.string();
    try {
      RunSweep(GridFromJsonText(text, "test"), o);
      ADD_FAILURE() << "no error for " << text;
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
      EXPECT_NE(msg.find("expected"), std::string::npos) << text << " -> " << msg;
    }
    EXPECT_FALSE(fs::exists(dir)) << text;
  }
}

TEST_F(SweepTest, InterruptedAndCutRunResumesToTheSamePoints) {
  const fs::path full = TempDir("full"), cut = TempDir("cut");
  const SweepSummary s_full = RunSweep(Tiny(), Options(full));
  EXPECT_EQ(s_full.ran, 6u);
  EXPECT_EQ(s_full.failed, 0u);

  // Stop after 2 points, then simulate a kill during the third point's write: half a line.
  SweepOptions o = Options(cut);
  o.max_points = 2;
  EXPECT_EQ(RunSweep(Tiny(), o).ran, 2u);
  {
    std::ofstream app(cut / "results.jsonl", std::ios::app | std::ios::binary);
    app << R"({"commit":"abc","host":"h","cpu_target":"AVX2","thr)";  // cut: no '\n'
  }
  const SweepSummary s_resume = RunSweep(Tiny(), Options(cut));
  EXPECT_EQ(s_resume.skipped, 2u);
  EXPECT_EQ(s_resume.ran, 4u);
  EXPECT_EQ(s_resume.dropped_lines, 1u);
  EXPECT_EQ(Identities(cut), Identities(full));  // same points and rows, none twice

  // A point with one of its rows lost (cut exactly at a line end) runs again, whole.
  std::string text = Slurp(cut / "results.jsonl");
  text.erase(text.rfind('\n', text.size() - 2) + 1);
  std::ofstream(cut / "results.jsonl", std::ios::binary | std::ios::trunc) << text;
  const SweepSummary s_again = RunSweep(Tiny(), Options(cut));
  EXPECT_EQ(s_again.ran, 1u);
  EXPECT_EQ(Identities(cut), Identities(full));

  // Rerunning a finished sweep runs nothing; results.csv holds one line per row + header.
  EXPECT_EQ(RunSweep(Tiny(), Options(cut)).ran, 0u);
  const std::string csv = Slurp(cut / "results.csv");
  EXPECT_EQ(static_cast<size_t>(std::count(csv.begin(), csv.end(), '\n')), Rows(cut).size() + 1);
  EXPECT_EQ(csv.rfind("commit,host,", 0), 0u);
  // sweep.json records the grid.
  const auto meta = nlohmann::ordered_json::parse(Slurp(cut / "sweep.json"));
  EXPECT_EQ(meta.at("points"), 6);
  EXPECT_EQ(meta.at("grid").dump(), GridToJson(Tiny()).dump());
}

TEST_F(SweepTest, ADifferentGridIntoTheSameFolderIsRefused) {
  const fs::path dir = TempDir("regrid");
  SweepOptions o = Options(dir);
  o.max_points = 1;
  RunSweep(Tiny(), o);
  const std::string before = Slurp(dir / "results.jsonl");
  SweepGrid other = Tiny();
  other.repeats = 2;
  EXPECT_THROW(RunSweep(other, Options(dir)), Error);
  EXPECT_EQ(Slurp(dir / "results.jsonl"), before);
}

TEST_F(SweepTest, ASecondWriterIntoTheSameFolderIsRefused) {
  const fs::path dir = TempDir("lock");
  SweepOptions o = Options(dir);
  o.max_points = 1;
  RunSweep(Tiny(), o);
  // Another process (here: this one, through a second descriptor) holds the folder's lock.
  const int fd = ::open((dir / ".lock").c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  const std::string before = Slurp(dir / "results.jsonl");
  EXPECT_THROW(RunSweep(Tiny(), Options(dir)), Error);
  EXPECT_EQ(Slurp(dir / "results.jsonl"), before);
  ::close(fd);
  EXPECT_EQ(RunSweep(Tiny(), Options(dir)).ran, 5u);  // released: the rest runs
}

TEST_F(SweepTest, ShardsAreDisjointAndTheirUnionIsTheGrid) {
  const fs::path all = TempDir("all");
  RunSweep(Tiny(), Options(all));
  std::set<std::string> merged;
  size_t total = 0;
  for (size_t i = 0; i < 3; ++i) {
    const fs::path dir = TempDir("shard" + std::to_string(i));
    SweepOptions o = Options(dir);
    o.shard = i;
    o.shards = 3;
    const SweepSummary s = RunSweep(Tiny(), o);
    EXPECT_EQ(s.in_shard, 2u);
    for (const auto& r : Rows(dir)) {
      EXPECT_EQ(r.at("shard"), std::to_string(i) + "/3");
      EXPECT_EQ(r.at("point_index").get<size_t>() % 3, i);
    }
    const auto ids = PointIds(dir);
    total += ids.size();
    merged.insert(ids.begin(), ids.end());
  }
  EXPECT_EQ(total, merged.size());  // disjoint
  EXPECT_EQ(merged, PointIds(all));
  size_t a = 0, b = 0;
  EXPECT_THROW(ParseShard("3/3", &a, &b), Error);
  EXPECT_THROW(ParseShard("1", &a, &b), Error);
  ParseShard("2/8", &a, &b);
  EXPECT_EQ(a, 2u);
  EXPECT_EQ(b, 8u);
}

TEST_F(SweepTest, AFailingPointIsRecordedAndTheSweepGoesOn) {
  const fs::path dir = TempDir("fail");
  // count=300 cannot apply at n = 256 (CheckThresholdFor throws inside RunBench); the hook adds
  // an out-of-memory point at index 4 (n = 512).
  SweepGrid g = Tiny();
  g.threshold = {"count=300"};
  SweepOptions o = Options(dir);
  o.before_point = [](const SweepPoint& p) {
    if (p.index == 4) throw std::bad_alloc();
  };
  const SweepSummary s = RunSweep(g, o);
  EXPECT_EQ(s.ran, 6u);
  EXPECT_EQ(s.failed, 4u);  // the three n = 256 points and index 4
  size_t failed_rows = 0;
  for (const auto& r : Rows(dir)) {
    const bool small = r.at("n") == 256;
    const bool expect_fail = small || r.at("point_index") == 4;
    EXPECT_EQ(r.at("status"), expect_fail ? "failed" : "ok") << r.dump();
    if (!expect_fail) {
      EXPECT_TRUE(r.at("error").is_null());
      EXPECT_TRUE(r.at("median_us").is_number());
      continue;
    }
    ++failed_rows;
    const std::string err = r.at("error").get<std::string>();
    EXPECT_NE(err.find(small ? "count" : "out of memory"), std::string::npos) << err;
    EXPECT_TRUE(r.at("median_us").is_null());
    EXPECT_EQ(r.at("threshold"), "count=300");
  }
  EXPECT_EQ(failed_rows, 4u * 3u);  // one row per backend
  // Resume skips failed points; retry_failed runs them again (index 4 now succeeds).
  EXPECT_EQ(RunSweep(g, Options(dir)).ran, 0u);
  SweepOptions retry = Options(dir);
  retry.retry_failed = true;
  const SweepSummary r = RunSweep(g, retry);
  EXPECT_EQ(r.ran, 4u);
  EXPECT_EQ(r.failed, 3u);
  EXPECT_EQ(PointIds(dir).size(), 6u);
  EXPECT_EQ(Rows(dir).size(), 6u * 3u);
}

// The target axis: every point records the target it asked for and the one that ran; a target
// this machine cannot run (avx3_zen4 in Highway 1.0.3, or whatever the CPU lacks) is recorded
// as skipped rows with the reason, never run on another target.
TEST_F(SweepTest, TargetAxisRecordsTheTargetThatRanAndSkipsWhatCannotRun) {
  SweepGrid g = Tiny();
  g.n = {256};
  g.attention = {"relu"};
  g.alpha = {1};
  g.target = {"avx2", "avx3_zen4", "sse4"};
  g.budget = 0.05;
  const fs::path dir = TempDir("target");
  const SweepSummary s = RunSweep(g, Options(dir));
  EXPECT_EQ(s.ran, 3u);
  EXPECT_EQ(s.failed, 0u);
  size_t skipped = 0;
  for (const auto& r : Rows(dir)) {
    const std::string asked = r.at("target").get<std::string>();
    const TargetChoice c = LookupTarget(asked);
    if (!c.unavailable.empty()) {
      ++skipped;
      EXPECT_EQ(r.at("status"), "skipped") << r.dump();
      EXPECT_EQ(r.at("error"), "target " + asked + ": " + c.unavailable);
      EXPECT_TRUE(r.at("median_us").is_null());
      EXPECT_TRUE(r.at("cpu_target").is_null());  // nothing ran
      continue;
    }
    EXPECT_EQ(r.at("status"), "ok") << r.dump();
    EXPECT_EQ(r.at("cpu_target"), asked == "avx2" ? "AVX2" : "SSE4");
    EXPECT_GE(r.at("samples").get<size_t>(), g.repeats);
  }
  EXPECT_EQ(skipped, s.unavailable * 3);  // three backends per point
  EXPECT_GE(s.unavailable, 1u);           // avx3_zen4 at least
}

// Recorded / fitted workloads with softmax points get DIR/inspect/NAME.json once (per-head keys
// for err=1e-3, sim/sweep/inspect_files.h); a resumed sweep keeps the file; generated workloads and
// relu-only grids get none.
TEST_F(SweepTest, InspectFileIsWrittenOnceForRecordedSoftmaxWorkloads) {
  const std::string npz =
      std::string("npz:") + HSR_SOURCE_DIR + "/sim/workload/io/testdata/tinylm-code-8.npz";
  SweepGrid g = Tiny();
  g.workload = {"gaussian", npz};
  g.n = {256};
  g.attention = {"softmax"};
  const fs::path dir = TempDir("inspect");
  std::vector<std::string> log;
  SweepOptions o = Options(dir);
  o.log = [&](const std::string& line) { log.push_back(line); };
  EXPECT_EQ(RunSweep(g, o).failed, 0u);
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir / "inspect")) files.push_back(e.path());
  ASSERT_EQ(files.size(), 1u);  // the npz only: gaussian is generated
  const std::string name = SweepInspectFileName(npz + ",m=all");
  EXPECT_EQ(files[0].filename().string(), name);
  const json j = json::parse(Slurp(files[0]));
  EXPECT_EQ(j.at("grid_workloads"), json::array({npz}));
  EXPECT_EQ(j.at("queries"), kSweepInspectQueries);
  ASSERT_EQ(j.at("heads").size(), j.at("q_heads").get<size_t>());
  for (const auto& h : j.at("heads")) {
    const json& k = h.at("keys_for_err");
    EXPECT_EQ(k.at("err"), kSweepInspectErr);
    // Fractions of the visible keys; the true minimum never needs more than a certificate.
    for (const char* c : {"tau", "sketch", "engine", "true"}) {
      EXPECT_GT(k.at(c).get<double>(), 0.0) << c;
      EXPECT_LE(k.at(c).get<double>(), 1.0) << c;
    }
    EXPECT_LE(k.at("true").get<double>(), k.at("sketch").get<double>());
    EXPECT_LE(k.at("true").get<double>(), k.at("tau").get<double>());
  }
  EXPECT_TRUE(std::any_of(log.begin(), log.end(), [](const std::string& l) {
    return l.rfind("inspect ", 0) == 0;
  }));
  // Resume: the existing file is kept as it is (not recomputed).
  std::ofstream(files[0], std::ios::binary | std::ios::trunc) << "{\"marker\": 1}\n";
  EXPECT_EQ(RunSweep(g, Options(dir)).ran, 0u);
  EXPECT_EQ(Slurp(files[0]), "{\"marker\": 1}\n");
  // A fitted spec inspects the recording it is fitted to (all heads of the layer).
  const auto fitted = SweepInspectSpec("fitted:npy:/rec,layer=3,n=4096,head=1");
  ASSERT_TRUE(fitted.has_value());
  EXPECT_EQ(fitted->kind, "npy");
  EXPECT_EQ(fitted->Get("path"), "/rec");
  EXPECT_EQ(fitted->Get("layer"), "3");
  EXPECT_FALSE(fitted->Has("n"));
  EXPECT_FALSE(fitted->Has("head"));
  EXPECT_FALSE(SweepInspectSpec("gaussian:n=64").has_value());
  // ReLU only: nothing to inspect.
  SweepGrid relu = g;
  relu.attention = {"relu"};
  const fs::path dir2 = TempDir("inspect_relu");
  RunSweep(relu, Options(dir2));
  EXPECT_FALSE(fs::exists(dir2 / "inspect"));
  fs::remove_all(dir);
  fs::remove_all(dir2);
}

TEST(ResultCsvTest, QuotesAndNulls) {
  nlohmann::ordered_json row;
  row["a"] = "x,y";
  row["b"] = nullptr;
  row["c"] = 1.5;
  row["d"] = "say \"hi\"";
  row["e"] = true;
  const std::vector<std::string> cols = {"a", "b", "c", "d", "e", "missing"};
  EXPECT_EQ(CsvHeader(cols), "a,b,c,d,e,missing\n");
  EXPECT_EQ(CsvLine(row, cols), "\"x,y\",,1.5,\"say \"\"hi\"\"\",true,\n");
}

}  // namespace
}  // namespace hsr::sim
