// Tests of hsr report (sim/report/report.h): power-law fits and their 95% intervals, reading and
// merging result folders, malformed input, report.md sections, gnuplot figures.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/base/error.h"
#include "sim/bench/result_row.h"
#include "sim/report/analysis.h"
#include "sim/report/plots.h"
#include "sim/report/power_fit.h"
#include "sim/report/report.h"
#include "sim/report/rows.h"
#include "sim/report/tables.h"

namespace hsr::sim {
namespace {

namespace fs = std::filesystem;

// A fresh folder under the test temp dir, removed at the end of the test.
class TempDir {
 public:
  explicit TempDir(const std::string& name) {
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() /
            fmt::format("hsr_report_test_{}_{}_{}", info->name(), name, ::getpid());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string str() const { return path_.string(); }
  fs::path path() const { return path_; }

 private:
  fs::path path_;
};

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteAll(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
}

// Rows as `hsr bench --format json` / `hsr sweep` write them (sim/bench/result_row.h ToJson), for a
// small grid: dense-hwy and hsr-cpu; relu a=2 and softmax at the paper threshold; d 64 and 128;
// n = 2^12..2^16. Dense time ~ n, HSR time ~ n^0.8, reported ~ n^0.77, with seeded noise.
std::vector<nlohmann::ordered_json> GridRows(uint64_t seed, bool with_point_id) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise(0.0, 0.03);
  std::vector<nlohmann::ordered_json> out;
  for (const char* attention : {"relu", "softmax"}) {
    for (size_t d : {64, 128}) {
      for (int e = 12; e <= 16; ++e) {
        const size_t n = size_t{1} << e;
        ResultRow base;
        base.commit = "abc123";
        base.host = "testhost";
        base.cpu_target = "AVX2";
        base.threads = 1;
        base.workload = fmt::format("gaussian:n={},m=1,d={},dv={},heads=1,kv_heads=1,seed=1",
                                    n, d, d);
        base.seed = 1;
        base.n = n;
        base.m = 1;
        base.d = base.dv = d;
        base.heads = base.kv_heads = 1;
        base.mode = "decode";
        base.attention = attention;
        const bool relu = std::string(attention) == "relu";
        if (relu) base.alpha = 2;
        base.scale = 1 / std::sqrt(static_cast<double>(d));
        base.repeats = 5;
        base.oracle_rows = base.total_rows = 1;
        ResultRow dense = base, hsr = base;
        dense.backend = "dense-hwy";
        dense.median_us = 0.004 * static_cast<double>(n * d) / 64 * std::exp(noise(rng));
        dense.p10_us = 0.95 * dense.median_us;
        dense.p90_us = 1.1 * dense.median_us;
        dense.max_abs_err = 1e-7;
        dense.rel_l2_err = 2e-7;
        if (relu) dense.threshold = "paper";
        hsr.backend = "hsr-cpu";
        hsr.index = "sketch8";
        hsr.threshold = "paper";
        hsr.median_us = 0.02 * std::pow(static_cast<double>(n), 0.8) *
                        static_cast<double>(d) / 64 * std::exp(noise(rng));
        hsr.p10_us = 0.9 * hsr.median_us;
        hsr.p90_us = 1.2 * hsr.median_us;
        hsr.reported_mean = 1.5 * std::pow(static_cast<double>(n), 0.77) * std::exp(noise(rng));
        hsr.candidates_mean = 1.1 * *hsr.reported_mean;
        hsr.max_abs_err = relu ? 1.2e-7 : 1e-3;
        hsr.rel_l2_err = relu ? 2e-7 : 1e-2;
        if (!relu) {
          hsr.eps_max = 0.01;
          hsr.eps_mean = 0.005;
        }
        hsr.speedup = dense.median_us / hsr.median_us;
        hsr.speedup_vs = "dense-hwy";
        for (const ResultRow* r : {&dense, &hsr}) {
          nlohmann::ordered_json j = ToJson(*r);
          if (with_point_id) {
            j["point_id"] = fmt::format("{}-d{}-n{}", attention, d, n);
            j["status"] = "ok";
          }
          out.push_back(std::move(j));
        }
      }
    }
  }
  return out;
}

std::string Jsonl(const std::vector<nlohmann::ordered_json>& rows) {
  std::string s;
  for (const auto& r : rows) s += r.dump() + "\n";
  return s;
}

std::set<std::string> RowSet(const ResultSet& set) {
  std::set<std::string> s;
  for (const auto& r : set.rows) {
    nlohmann::json j = r.raw;
    j.erase("shard");
    s.insert(j.dump());
  }
  return s;
}

// --- Power-law fits ----------------------------------------------------------------------

TEST(PowerFitTest, StudentQuantilesMatchTables) {
  // Published t_{0.975} values; the expansion beyond df = 30 is accurate to ~1e-5, the table
  // to its 4 decimals.
  EXPECT_NEAR(StudentT975(1), 12.7062, 1e-4);
  EXPECT_NEAR(StudentT975(7), 2.3646, 1e-4);
  EXPECT_NEAR(StudentT975(30), 2.0423, 1e-4);
  EXPECT_NEAR(StudentT975(40), 2.0211, 2e-4);
  EXPECT_NEAR(StudentT975(60), 2.0003, 2e-4);
  EXPECT_NEAR(StudentT975(120), 1.9799, 2e-4);
  EXPECT_NEAR(StudentT975(1000000), 1.95996, 1e-4);
  EXPECT_THROW(StudentT975(0), Error);
}

TEST(PowerFitTest, ExactPowerLawHasZeroWidthAndNeedsThreeN) {
  const std::vector<double> x = {1024, 2048, 4096, 8192};
  std::vector<double> y;
  for (double v : x) y.push_back(5 * std::pow(v, 0.8));
  const auto fit = FitPowerLaw(x, y);
  ASSERT_TRUE(fit);
  // Only rounding of log/exp in double: a few ulps of ln(8192) ~ 9.
  EXPECT_NEAR(fit->slope, 0.8, 1e-12);
  EXPECT_NEAR(fit->intercept, std::log(5.0), 1e-10);
  EXPECT_LT(fit->ci95, 1e-9);
  EXPECT_EQ(fit->points, 4u);
  // Two distinct n (repeated): no degree of freedom for a slope error -> n/a.
  const std::vector<double> x2 = {1024, 1024, 2048, 2048}, y2 = {1, 1.1, 2, 2.1};
  EXPECT_FALSE(FitPowerLaw(x2, y2));
  // Non-positive values are ignored, not fitted as NaN.
  const std::vector<double> x3 = {1024, 2048, 0, 4096, 8192}, y3 = {1, 2, 3, -1, 8};
  const auto fit3 = FitPowerLaw(x3, y3);
  ASSERT_TRUE(fit3);
  EXPECT_EQ(fit3->points, 3u);
  EXPECT_NEAR(fit3->slope, 1.0, 1e-12);
  EXPECT_THROW(FitPowerLaw(x, std::vector<double>{1, 2, 3}), Error);
}

// Draws y = c n^slope exp(N(0, sigma)) at the given n values.
std::vector<double> NoisyPowerLaw(const std::vector<double>& n, double c, double slope,
                                  double sigma, std::mt19937_64& rng) {
  std::normal_distribution<double> noise(0.0, sigma);
  std::vector<double> y;
  for (double v : n) y.push_back(c * std::pow(v, slope) * std::exp(noise(rng)));
  return y;
}

TEST(PowerFitTest, IntervalCoversTheTrueExponentAtItsLevel) {
  // Log-normal noise satisfies the t-interval's assumptions exactly, so the 95% interval must
  // cover the true slope in 95% of trials. 1000 trials: binomial sd = sqrt(.95 .05 / 1000) =
  // 0.0069; accepting [0.925, 0.975] is +-3.6 sd (a false failure ~ 3e-4 for any seed).
  std::vector<double> n;
  for (int e = 12; e <= 18; ++e) n.push_back(std::ldexp(1.0, e));
  std::mt19937_64 rng(7);
  const double slope = 0.73;
  size_t covered = 0;
  constexpr size_t kTrials = 1000;
  for (size_t t = 0; t < kTrials; ++t) {
    const auto fit = FitPowerLaw(n, NoisyPowerLaw(n, 3.0, slope, 0.1, rng));
    ASSERT_TRUE(fit);
    if (std::abs(fit->slope - slope) <= fit->ci95) ++covered;
  }
  const double rate = static_cast<double>(covered) / kTrials;
  EXPECT_GE(rate, 0.925);
  EXPECT_LE(rate, 0.975);
}

TEST(PowerFitTest, IntervalShrinksWithMorePoints) {
  // Same noise and n range; 4 vs 16 points (4 repeats per n). Expected half-width ratio about
  // t(2) / t(14) * sqrt(16 / 4) ~ 4.3 / 2.14 * 2 ~ 4; averaged over 200 seeds, require > 2.
  const std::vector<double> n4 = {4096, 16384, 65536, 262144};
  std::vector<double> n16;
  for (double v : n4) n16.insert(n16.end(), 4, v);
  std::mt19937_64 rng(11);
  double w4 = 0, w16 = 0;
  for (int t = 0; t < 200; ++t) {
    w4 += FitPowerLaw(n4, NoisyPowerLaw(n4, 1, 0.9, 0.05, rng))->ci95;
    w16 += FitPowerLaw(n16, NoisyPowerLaw(n16, 1, 0.9, 0.05, rng))->ci95;
  }
  EXPECT_GT(w4 / w16, 2.0) << "mean half-width with 4 points " << w4 / 200 << ", with 16 "
                           << w16 / 200;
}

TEST(ReportAnalysisTest, SeriesFitsRecoverExponentsFromRows) {
  TempDir dir("rows");
  WriteAll(dir.path() / "results.jsonl", Jsonl(GridRows(3, true)));
  const ResultSet set = ReadResults({dir.str()});
  ASSERT_EQ(set.rows.size(), 40u);
  const auto time = BuildTimeSeries(set.rows);
  // Groups: relu a=2 paper (dense and hsr, d 64/128) and softmax paper (dense softmax rows
  // have no threshold and join it): 2 groups x 2 backends x 2 d.
  ASSERT_EQ(time.size(), 8u);
  for (const auto& s : time) {
    ASSERT_TRUE(s.fit) << s.label;
    const double truth = s.hsr ? 0.8 : 1.0;
    EXPECT_EQ(s.fit->points, 5u) << s.label;
    EXPECT_LE(std::abs(s.fit->slope - truth), s.fit->ci95 + 1e-12)
        << s.group << " " << s.label << " slope " << s.fit->slope << " +- " << s.fit->ci95;
    // Expected half-width t(3) * 0.03 / sqrt(Sxx = 10 ln(2)^2) = 0.044; 0.1 allows residuals
    // 2.3x their expected size (chi2(3) tail ~ 1e-3 per series; the seed is fixed).
    EXPECT_LT(s.fit->ci95, 0.1) << s.label;
  }
  const auto reported = BuildReportedSeries(set.rows);
  ASSERT_EQ(reported.size(), 2u);  // d 64, 128; relu and softmax rows averaged per n
  for (const auto& s : reported) {
    ASSERT_TRUE(s.fit);
    EXPECT_EQ(s.n.size(), 5u);
    EXPECT_LE(std::abs(s.fit->slope - 0.77), s.fit->ci95 + 1e-12) << s.label;
  }
}

// --- Reading and merging -----------------------------------------------------------------

TEST(ReportRowsTest, MalformedLineNamesFileAndLine) {
  ResultSet set;
  const std::string text = "{\"backend\":\"dense-hwy\",\"n\":4096}\n{\"backend\": oops\n"
                           "{\"backend\":\"hsr-cpu\",\"n\":4096}\n";
  try {
    ParseResultsText("x/results.jsonl", text, set);
    FAIL() << "expected hsr::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("x/results.jsonl:2:"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("expected"), std::string::npos) << e.what();
  }
  ResultSet set2;  // a valid JSON value that is not an object is malformed too
  EXPECT_THROW(ParseResultsText("y", "{\"n\":1}\n\n[1,2]\n", set2), Error);
}

TEST(ReportRowsTest, TruncatedLastLineIsSkippedWithWarning) {
  ResultSet set;
  ParseResultsText("r.jsonl", "{\"backend\":\"dense-hwy\",\"n\":4096}\n\n{\"backend\":\"hs", set);
  EXPECT_EQ(set.rows.size(), 1u);
  ASSERT_EQ(set.warnings.size(), 1u);
  EXPECT_NE(set.warnings[0].find("r.jsonl:3"), std::string::npos) << set.warnings[0];
  // The same text with its newline is not a truncation but a malformed line.
  ResultSet set2;
  EXPECT_THROW(ParseResultsText("r.jsonl", "{\"n\":1}\n{\"backend\":\"hs\n", set2), Error);
}

TEST(ReportRowsTest, MissingFolderOrFileIsAnError) {
  TempDir dir("empty");
  EXPECT_THROW(ReadResults({(dir.path() / "nope").string()}), Error);
  try {
    ReadResults({dir.str()});
    FAIL() << "expected hsr::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("results.jsonl"), std::string::npos) << e.what();
  }
}

TEST(ReportRowsTest, ShardsMergedEqualOneFolder) {
  for (bool with_pid : {true, false}) {
    SCOPED_TRACE(with_pid ? "with point_id" : "config keys");
    const auto rows = GridRows(5, with_pid);
    TempDir all("all"), a("a"), b("b");
    std::vector<nlohmann::ordered_json> ra, rb;
    for (size_t i = 0; i < rows.size(); ++i) {
      auto r = rows[i];
      r["shard"] = i % 2 == 0 ? "0/2" : "1/2";
      (i % 2 == 0 ? ra : rb).push_back(r);
    }
    rb.push_back(ra.front());  // an exact copy in both shards (say, copied by hand)
    rb.back()["shard"] = "1/2";
    WriteAll(all.path() / "results.jsonl", Jsonl(rows));
    WriteAll(a.path() / "results.jsonl", Jsonl(ra));
    WriteAll(b.path() / "results.jsonl", Jsonl(rb));
    const ResultSet one = ReadResults({all.str()});
    const ResultSet merged = ReadResults({a.str(), b.str()});
    EXPECT_EQ(RowSet(one), RowSet(merged));
    EXPECT_EQ(merged.duplicates_dropped, 1u);
    EXPECT_TRUE(merged.warnings.empty()) << merged.warnings.front();
    // Same numbers in every table.
    EXPECT_EQ(SpeedupSection(one.rows), SpeedupSection(merged.rows));
    EXPECT_EQ(ErrorSection(one.rows), ErrorSection(merged.rows));
    EXPECT_EQ(FitSection(BuildTimeSeries(one.rows), BuildReportedSeries(one.rows)),
              FitSection(BuildTimeSeries(merged.rows), BuildReportedSeries(merged.rows)));
  }
}

TEST(ReportRowsTest, ConflictsWarnAndRetriedFailuresAreSuperseded) {
  auto rows = GridRows(9, true);
  auto conflict = rows[0];
  conflict["median_us"] = conflict["median_us"].get<double>() * 2;
  nlohmann::ordered_json failed = {{"point_id", rows[2]["point_id"]}, {"status", "failed"},
                                   {"error", "out of memory"}};
  nlohmann::ordered_json failed2 = {{"point_id", "softmax-d64-n1048576"}, {"status", "failed"},
                                    {"backend", "hsr-cpu"}, {"n", 1048576},
                                    {"error", "timeout after 600 s"}};
  ResultSet set;
  ParseResultsText("r", Jsonl({failed}) + Jsonl(rows) + Jsonl({conflict, failed2}), set);
  MergeResults(set);
  EXPECT_EQ(set.rows.size(), rows.size());
  ASSERT_EQ(set.warnings.size(), 1u);
  EXPECT_NE(set.warnings[0].find("conflicting"), std::string::npos) << set.warnings[0];
  EXPECT_NE(set.warnings[0].find("kept r:2"), std::string::npos) << set.warnings[0];
  ASSERT_EQ(set.failed.size(), 1u);  // the retried point's failure is gone
  EXPECT_EQ(set.failed[0].Str("error"), "timeout after 600 s");
  EXPECT_EQ(set.notes.size(), 1u);
  const std::string failed_md = FailedSection(set.failed);
  EXPECT_NE(failed_md.find("timeout after 600 s"), std::string::npos) << failed_md;
}

TEST(ReportRowsTest, WorkloadFamilyDropsSizeAndSeed) {
  EXPECT_EQ(WorkloadFamily("gaussian:n=4096,m=1,d=64,dv=64,heads=1,kv_heads=1,seed=1"),
            "gaussian:m=1,heads=1,kv_heads=1");
  EXPECT_EQ(WorkloadFamily("gaussian:n=4096,d=64"), "gaussian");
  EXPECT_EQ(WorkloadFamily("npy:/data/x,layer=3"), "npy:/data/x,layer=3");
  EXPECT_EQ(WorkloadFamily(""), "");
}

// --- report.md and figures ---------------------------------------------------------------

TEST(ReportTest, ReportHasTablesAndToleratesMissingFields) {
  TempDir dir("md");
  auto rows = GridRows(13, true);
  rows[5].erase("p10_us");  // missing and extra fields are fine
  rows[6]["extra_field"] = {1, 2};
  std::string text = Jsonl(rows);
  text += "{\"point_id\":\"relu-d64-n1048576\",\"status\":\"failed\",\"backend\":\"hsr-cpu\","
          "\"workload\":\"gaussian:n=1048576,d=64\",\"error\":\"out of memory\"}\n";
  WriteAll(dir.path() / "results.jsonl", text);
  WriteAll(dir.path() / "sweep.json", "{\"n\":[4096,65536],\"d\":[64,128]}");
  ReportOptions opt;
  opt.dirs = {dir.str()};
  opt.plots = false;
  const ReportSummary s = WriteReport(opt);
  EXPECT_EQ(s.rows, 40u);
  EXPECT_EQ(s.failed, 1u);
  const std::string md = ReadAll(s.report_path);
  for (const char* needle :
       {"## Machine", "testhost", "## Configuration", "\"d\": [", "## Speedup: HSR vs dense",
        "| workload | attention, threshold | d | HSR backend | n=2^12 |", "hsr-cpu/sketch8",
        "## Errors vs the float64 oracle", "eps_max", "holds if max\\|v\\| >=",
        "## Fitted exponents", "### Reported keys per query vs n", "## Failed points",
        "out of memory", "Not drawn (--no-plots)"}) {
    EXPECT_NE(md.find(needle), std::string::npos) << "report.md lacks '" << needle << "'";
  }
  EXPECT_EQ(md.find("nan"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir.path() / "plots"));
}

TEST(ReportTest, MissingGnuplotSkipsPlotsWithOneMessage) {
  TempDir dir("nognuplot");
  WriteAll(dir.path() / "results.jsonl", Jsonl(GridRows(17, true)));
  ReportOptions opt;
  opt.dirs = {dir.str()};
  opt.gnuplot = (dir.path() / "no-such-gnuplot").string();
  const ReportSummary s = WriteReport(opt);
  EXPECT_EQ(s.plots_message, kGnuplotMissing);
  EXPECT_EQ(s.figures_rendered, 0u);
  const std::string md = ReadAll(s.report_path);
  EXPECT_EQ(md.find("!["), std::string::npos);
  EXPECT_NE(md.find("gnuplot not found"), std::string::npos);
  EXPECT_TRUE(fs::exists(dir.path() / "plots" / "time_01.gp"));  // render later by hand
}

TEST(ReportTest, FailingGnuplotIsAWarningNamingTheScript) {
  const std::string false_prog = FindProgram("false");
  if (false_prog.empty()) GTEST_SKIP() << "no 'false' program in PATH to stand in for gnuplot";
  TempDir dir("badgnuplot");
  WriteAll(dir.path() / "results.jsonl", Jsonl(GridRows(19, true)));
  ReportOptions opt;
  opt.dirs = {dir.str()};
  opt.gnuplot = false_prog;
  const ReportSummary s = WriteReport(opt);
  ASSERT_GT(s.figures, 0u);
  EXPECT_EQ(s.figures_rendered, 0u);
  ASSERT_EQ(s.warnings.size(), s.figures);
  EXPECT_NE(s.warnings[0].find("time_01.gp"), std::string::npos) << s.warnings[0];
  EXPECT_NE(s.warnings[0].find("exit 1"), std::string::npos) << s.warnings[0];
}

TEST(ReportTest, GnuplotRendersEveryFigure) {
  if (FindProgram("gnuplot").empty()) {
    GTEST_SKIP() << "gnuplot not found: figure rendering not tested (install gnuplot-nox)";
  }
  TempDir dir("plots");
  WriteAll(dir.path() / "results.jsonl", Jsonl(GridRows(23, true)));
  ReportOptions opt;
  opt.dirs = {dir.str()};
  const ReportSummary s = WriteReport(opt);
  for (const auto& w : s.warnings) ADD_FAILURE() << "warning: " << w;
  // 2 time groups (relu, softmax), 1 reported family, error vs certificate, speedup map,
  // speedup vs n (one workload group).
  EXPECT_EQ(s.figures, 6u);
  EXPECT_EQ(s.figures_rendered, s.figures);
  const std::string md = ReadAll(s.report_path);
  for (const char* name : {"time_01", "time_02", "reported_01", "error_vs_certificate",
                           "speedup_map", "speedup_01"}) {
    const fs::path svg = dir.path() / "plots" / (std::string(name) + ".svg");
    EXPECT_NE(ReadAll(svg).find("<svg"), std::string::npos) << svg;
    EXPECT_TRUE(fs::exists(dir.path() / "plots" / (std::string(name) + ".dat"))) << name;
    EXPECT_TRUE(fs::exists(dir.path() / "plots" / (std::string(name) + ".gp"))) << name;
    EXPECT_NE(md.find(fmt::format("](plots/{}.svg)", name)), std::string::npos) << name;
  }
  // The grid (5 n x one fraction band per n) is sparse for a heatmap: scatter, said so.
  EXPECT_NE(md.find("Scatter, not a heatmap"), std::string::npos);
}

// Paired rows carry speedup_lo / speedup_hi: the table shows the interval, marks a cell whose
// interval contains 1, and the rows of two Highway targets at one (n, d) give the per-target
// table and figure; skipped rows (a target the machine could not run) are listed apart, never
// counted as ok rows.
TEST(ReportTest, IntervalsTargetsAndSkippedPoints) {
  std::vector<nlohmann::ordered_json> rows;
  int point = 0;
  for (const char* target : {"AVX2", "AVX3_DL"}) {
    for (size_t n : {4096, 65536}) {
      ResultRow base;
      base.cpu_target = target;
      base.target = target == std::string("AVX2") ? "avx2" : "avx3_dl";
      base.workload = fmt::format("gaussian:n={},m=1,d=64,dv=64,heads=1,kv_heads=1,seed=1", n);
      base.n = n;
      base.m = 1;
      base.d = base.dv = 64;
      base.heads = base.kv_heads = 1;
      base.mode = "decode";
      base.attention = "relu";
      base.alpha = 1;
      base.threshold = "paper";
      base.samples = 20;
      ResultRow dense = base, hsr = base;
      dense.backend = "dense-hwy";
      dense.median_us = static_cast<double>(n) / 100 * (target == std::string("AVX2") ? 1.5 : 1);
      hsr.backend = "hsr-cpu";
      hsr.index = "sketch8";
      hsr.reported_mean = 100;
      const bool small = n == 4096;  // no measurable speedup at n = 4096
      hsr.speedup = small ? 1.02 : 3.1;
      hsr.speedup_lo = small ? 0.97 : 2.9;
      hsr.speedup_hi = small ? 1.08 : 3.3;
      hsr.speedup_vs = "dense-hwy";
      hsr.median_us = dense.median_us / *hsr.speedup;
      const std::string id = fmt::format("p{}", point++);
      for (const ResultRow* r : {&dense, &hsr}) {
        nlohmann::ordered_json j = ToJson(*r);
        j["point_id"] = id;
        j["status"] = "ok";
        rows.push_back(std::move(j));
      }
    }
  }
  ResultRow skipped;
  skipped.backend = "dense-hwy";
  skipped.target = "avx3_zen4";
  skipped.workload = "gaussian:n=4096,m=1,d=64,dv=64,heads=1,kv_heads=1,seed=1";
  nlohmann::ordered_json j = ToJson(skipped);
  j["point_id"] = "pz";
  j["status"] = "skipped";
  j["error"] = "target avx3_zen4: not compiled in this Highway (1.0.3)";
  rows.push_back(j);
  TempDir dir("intervals");
  WriteAll(dir.path() / "results.jsonl", Jsonl(rows));
  ReportOptions opt;
  opt.dirs = {dir.str()};
  opt.plots = !FindProgram("gnuplot").empty();
  const ReportSummary s = WriteReport(opt);
  EXPECT_EQ(s.rows, 8u);  // the skipped row is not an ok row
  const std::string md = ReadAll(s.report_path);
  EXPECT_NE(md.find("3.10x [2.90, 3.30]"), std::string::npos) << md;
  EXPECT_NE(md.find("1.02x [0.97, 1.08] **~1**"), std::string::npos) << md;
  EXPECT_EQ(md.find("3.10x [2.90, 3.30] **~1**"), std::string::npos);
  // Per target at the largest n with two targets: both columns, dense and HSR rows.
  const size_t sec = md.find("## SIMD targets");
  ASSERT_NE(sec, std::string::npos);
  const std::string targets = md.substr(sec, md.find("\n## ", sec + 1) - sec);
  EXPECT_NE(targets.find("n=2^16"), std::string::npos) << targets;
  EXPECT_NE(targets.find("| backend | AVX3_DL | AVX2 |"), std::string::npos) << targets;
  EXPECT_NE(targets.find("983 us"), std::string::npos) << targets;  // dense-hwy under AVX2
  EXPECT_NE(targets.find("3.10x [2.90, 3.30]"), std::string::npos) << targets;
  const size_t skip = md.find("## Skipped points");
  ASSERT_NE(skip, std::string::npos);
  EXPECT_NE(md.find("not compiled in this Highway", skip), std::string::npos);
  if (opt.plots) {
    for (const char* name : {"target_01", "speedup_01"}) {
      EXPECT_NE(ReadAll(dir.path() / "plots" / (std::string(name) + ".svg")).find("<svg"),
                std::string::npos) << name;
    }
    EXPECT_EQ(s.figures_rendered, s.figures);
    for (const auto& w : s.warnings) ADD_FAILURE() << "warning: " << w;
  }
}

// --- measured vs certified, per-head keys for err ------------------------------------------

// err_over_cert_max, when a row has it, decides the certificate column: <= 1 holds, > 1 is
// flagged; the "needs max|v| >= X" wording is only for rows without it.
TEST(ReportTest, ErrOverCertMaxDecidesMeasuredVsCertified) {
  TempDir dir("ratio");
  auto rows = GridRows(29, true);
  size_t softmax_hsr = 0;
  for (auto& r : rows) {
    if (r["attention"] != "softmax" || r["backend"] != "hsr-cpu") continue;
    ++softmax_hsr;
    // One row of the d=128 group breaks the bound; every other is well inside it.
    const bool bad = r["d"] == 128 && r["n"] == 16384;
    r["err_over_cert_max"] = bad ? 1.7 : 0.4;
  }
  ASSERT_EQ(softmax_hsr, 10u);
  WriteAll(dir.path() / "results.jsonl", Jsonl(rows));
  ReportOptions opt;
  opt.dirs = {dir.str()};
  opt.plots = false;
  const std::string md = ReadAll(WriteReport(opt).report_path);
  const std::string errors = md.substr(md.find("## Errors"), md.find("## Fitted") -
                                                                md.find("## Errors"));
  EXPECT_NE(errors.find("**VIOLATED**: err / (2 eps max\\|v\\|) = 1.7 > 1"), std::string::npos)
      << errors;
  EXPECT_NE(errors.find("**1 of 5 VIOLATED** (max err / (2 eps max\\|v\\|) = 1.7)"),
            std::string::npos) << errors;
  EXPECT_NE(errors.find("holds in all 5 (max err / (2 eps max\\|v\\|) = 0.4)"),
            std::string::npos) << errors;
  // 9 holding rows in the detail table.
  size_t holds = 0;
  for (size_t at = 0; (at = errors.find("holds: err / (2 eps max\\|v\\|) = 0.4 <= 1", at)) !=
                      std::string::npos; ++at) {
    ++holds;
  }
  EXPECT_EQ(holds, 9u);
  EXPECT_EQ(errors.find("holds if max\\|v\\|"), std::string::npos) << errors;
}

// One DIR/inspect/*.json as `hsr sweep` writes it (InspectionToJson + grid_workloads, queries):
// heads with keys_for_err fractions.
std::string InspectJson(const std::string& grid_workload,
                        const std::vector<std::array<double, 4>>& heads) {
  nlohmann::json j = {{"workload", "npy:/rec,layer=3,head=all,m=all"},
                      {"grid_workloads", {grid_workload}},
                      {"queries", 64}};
  j["heads"] = nlohmann::json::array();
  for (size_t h = 0; h < heads.size(); ++h) {
    j["heads"].push_back({{"q_head", h}, {"kv_head", h},
                          {"keys_for_err", {{"err", 1e-3}, {"tau", heads[h][0]},
                                            {"sketch", heads[h][1]}, {"engine", heads[h][2]},
                                            {"true", heads[h][3]}}}});
  }
  return j.dump() + "\n";
}

TEST(ReportTest, InspectFilesGiveAPerHeadTableMergedAcrossShards) {
  TempDir a("shard0"), b("shard1");
  WriteAll(a.path() / "results.jsonl", Jsonl(GridRows(31, true)));
  WriteAll(b.path() / "results.jsonl", "");
  fs::create_directories(a.path() / "inspect");
  fs::create_directories(b.path() / "inspect");
  const std::string fitted = "fitted:npy:/rec,layer=3";
  const std::string one = InspectJson(fitted, {{0.2, 0.05, 0.055, 0.04}, {0.96, 0.97, 1.0, 0.95}});
  // Both shards wrote the same workload's file: it is shown once.
  WriteAll(a.path() / "inspect" / "npy_rec-1.json", one);
  WriteAll(b.path() / "inspect" / "npy_rec-1.json", one);
  WriteAll(b.path() / "inspect" / "broken-2.json", "{\"heads\": 3");
  ReportOptions opt;
  opt.dirs = {a.str(), b.str()};
  opt.plots = false;
  const ReportSummary s = WriteReport(opt);
  const std::string md = ReadAll(s.report_path);
  const size_t at = md.find("## Keys needed for softmax err=1e-3, per head");
  ASSERT_NE(at, std::string::npos) << md;
  const std::string section = md.substr(at, md.find("\n## ", at + 1) - at);
  EXPECT_NE(section.find("no certificate can help there"), std::string::npos);
  EXPECT_NE(section.find("| workload | layer/head | tau % | sketch % | hsr-cpu % | "
                         "true minimum % | sketch/true | tau/sketch |"), std::string::npos);
  // Ratios from the file's fractions: 0.05 / 0.04 = 1.25, 0.2 / 0.05 = 4.00.
  EXPECT_NE(section.find("| fitted:npy:/rec,layer=3 | L3/h0 | 20.0% | 5.0% | 5.5% | 4.0% | "
                         "1.25 | 4.00 |"), std::string::npos) << section;
  EXPECT_NE(section.find("| fitted:npy:/rec,layer=3 | L3/h1 | 96.0% | 97.0% | 100.0% | 95.0% | "
                         "1.02 | 0.99 |"), std::string::npos) << section;
  size_t lines = 0;
  for (size_t p = 0; (p = section.find("| fitted:npy", p)) != std::string::npos; ++p) ++lines;
  EXPECT_EQ(lines, 2u);  // 2 heads, the second shard's copy not repeated
  bool warned = false;
  for (const auto& w : s.warnings) warned = warned || w.find("broken-2.json") != std::string::npos;
  EXPECT_TRUE(warned);
}

// A fitted workload's check (its agreement with the recording at the recording's n) beside the
// largest n of the rows drawn from that recording and head: 65536 / 2048 = 32x.
TEST(ReportTest, FittedChecksSayHowFarRowsExtrapolate) {
  TempDir dir("fitted");
  std::string rows;
  for (const char* n : {"4096", "65536"}) {
    rows += nlohmann::json{{"backend", "dense-hwy"}, {"attention", "softmax"},
                           {"workload", fmt::format("fitted:npy:/rec,layer=3,head=0,n={},m=1,"
                                                    "seed=1,rank=auto,sinks=0,outliers=on", n)},
                           {"n", std::stoi(n)}, {"d", 64}, {"m", 1}, {"median_us", 10.0},
                           {"status", "ok"}}.dump() + "\n";
  }
  WriteAll(dir.path() / "results.jsonl", rows);
  fs::create_directories(dir.path() / "inspect");
  nlohmann::json j = nlohmann::json::parse(InspectJson("fitted:npy:/rec,layer=3", {{0.2, 0.05,
                                                                                    0.055, 0.04}}));
  j["fitted_checks"] = {{{"workload", "fitted:npy:/rec,layer=3"}, {"recorded_n", 2048},
                         {"fitted", "fitted:npy:/rec,layer=3,head=0,n=2048,m=64,seed=1,"
                                    "rank=auto,sinks=0,outliers=on"},
                         {"recorded", {{"paper", 0.0392}, {"mass_above_b", 0.985},
                                       {"keys_true", 0.0462}, {"keys_engine", 0.0548}}},
                         {"fitted_stats", {{"paper", 0.0397}, {"mass_above_b", 0.987},
                                           {"keys_true", 0.0879}, {"keys_engine", 0.1006}}}}};
  WriteAll(dir.path() / "inspect" / "npy_rec-1.json", j.dump());
  ReportOptions opt;
  opt.dirs = {dir.str()};
  opt.plots = false;
  const std::string md = ReadAll(WriteReport(opt).report_path);
  const size_t at = md.find("### Fitted workloads vs their recording");
  ASSERT_NE(at, std::string::npos) << md;
  EXPECT_NE(md.find("| fitted:npy:/rec,layer=3,head=0 | 2048 | 65536 | 32x | 3.92% / 3.97% | "
                    "0.985 / 0.987 | 4.62% / 8.79% | 5.48% / 10.06% |", at),
            std::string::npos) << md.substr(at);
}

TEST(ReportTest, NoInspectFilesNoSection) {
  TempDir dir("noinspect");
  WriteAll(dir.path() / "results.jsonl", Jsonl(GridRows(37, true)));
  ReportOptions opt;
  opt.dirs = {dir.str()};
  opt.plots = false;
  EXPECT_EQ(ReadAll(WriteReport(opt).report_path).find("Keys needed"), std::string::npos);
}

}  // namespace
}  // namespace hsr::sim
