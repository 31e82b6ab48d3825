// hsr sweep: flags and JSON grid files into a sim::SweepGrid, progress on stderr; the runner
// is sim::RunSweep (sim/sweep/sweep.h), the grid rules are in sim/sweep/grid.h.
#include <sys/ioctl.h>
#include <unistd.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/flags.h"
#include "core/base/error.h"
#include "sim/bench/flag_values.h"
#include "sim/bench/targets.h"
#include "sim/sweep/grid.h"
#include "sim/sweep/sweep.h"

namespace hsr::cli {
namespace {

constexpr const char* kIntro = R"(Usage: hsr sweep [grid flags | --grid FILE | --quick] --out DIR [flags]

Runs every point of a grid (the cross product of the lists below) with the same measurement as
`hsr bench decode|prefill`: all backends of a point on the same data in one process, speedups vs
the dense backend of the point, errors vs the float64 oracle on sampled rows. Each finished point
appends its rows to DIR/results.jsonl and DIR/results.csv (one write + fsync); DIR/sweep.json
records the grid. Run the same command again to resume: finished points (ok or failed) are
skipped, a line cut by a kill is dropped. A point that throws (bad input, out of memory) is
written as failed rows with its error and the sweep goes on. No grid flags and no --grid: the
embedded default grid (see --print-grid; a few minutes on 2 cores). Then: hsr report DIR.

Lists: comma-separated values, integer ranges 2^12..2^20 (powers of two) or 1..3 (every integer).
A workload sets what the grid does not sweep; generated kinds take n, m, d, seed; fitted:npy:DIR
takes n, m, seed (d is the recording's); npy/npz/safetensors take m only (n and d are the
recording's), so those axes make one point for them, not one per value.

Examples:
  hsr sweep --out runs/default          # the default grid; then: hsr report runs/default
  hsr sweep --quick --out /tmp/q                    # 6 tiny points, seconds
  hsr sweep --n 2^12..2^18 --d 64,128 --attention relu,softmax --alpha 1..3 \
            --threshold paper --backend dense-hwy,hsr-cpu --threads 2 --out runs/a
  hsr sweep --workload gaussian --n 4096,65536 --out runs/b \
            --workload fitted:npy:sim/workload/data/tinylm-code-2k-f16,layer=3
  hsr sweep --grid grid.json --out runs/c           # flags given with --grid override its keys
  hsr sweep --print-grid > grid.json                # the default grid as a file to edit
  hsr sweep --out runs/a                            # after a kill: resumes where it stopped

grid.json (every key optional, a value may be a list or one value):
  {"workload": ["gaussian", "planted:r=64"], "n": "2^12..2^16", "d": [64, 128],
   "mode": ["decode"], "causal": ["on"], "attention": ["relu", "softmax"], "alpha": [1, 2, 3],
   "threshold": ["paper", "frac=0.01"], "index": ["sketch8"], "threads": [1, 2],
   "backend": ["dense-ref", "dense-hwy", "hsr-cpu"], "backend_max_n": {"dense-ref": 16384},
   "repeats": 3, "cold": "auto", "budget": 3, "ci_width": 0.05, "target": ["avx2", "avx3"]}

Shards: --shard i/N runs the points with index % N == i (0-based; the same grid on every
machine), each into its own folder; hsr report merges the folders. A Slurm job array:
  #SBATCH --array=0-7
  hsr sweep --grid grid.json --shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT \
            --out runs/c/shard-$SLURM_ARRAY_TASK_ID
  # afterwards: hsr report runs/c/shard-*

Flags)";

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  HSR_CHECK(in.good(), "--grid: expected a readable JSON file, got '{}'", path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

size_t TerminalWidth() {
  winsize ws{};
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10) return ws.ws_col;
  return 100;
}

}  // namespace

int Sweep(const std::vector<std::string>& args) {
  po::options_description desc(kIntro);
  // Grid axes: flag name -> grid key (sim/sweep/grid.h).
  const std::vector<std::pair<std::string, std::string>> axes = {
      {"n", "n"}, {"m", "m"}, {"d", "d"}, {"seed", "seed"}, {"mode", "mode"}, {"causal", "causal"},
      {"attention", "attention"}, {"alpha", "alpha"}, {"threshold", "threshold"},
      {"index", "index"}, {"threads", "threads"}, {"target", "target"}, {"backend", "backend"},
      {"backend-max-n", "backend_max_n"}, {"repeats", "repeats"}, {"cold", "cold"},
      {"budget", "budget"}, {"ci-width", "ci_width"}};
  desc.add_options()
      ("help,h", "this text")
      ("out", Str("DIR"),
       "output folder (created; resumed when it holds the same grid)")
      ("grid", Str("FILE"), "JSON grid file (keys as above)")
      ("quick", "a tiny built-in grid (gaussian n=256,512 d=16, 6 points) for smoke tests")
      ("workload", po::value<std::vector<std::string>>()->value_name("SPEC"),
       "workload spec; repeat the flag for several (default gaussian)")
      ("n", Str("LIST"), "keys (default: the workload's)")
      ("m", Str("LIST"), "queries (default: the workload's; prefill: 256 for gaussian)")
      ("d", Str("LIST"), "head dims (default: the workload's)")
      ("seed", Str("LIST"), "workload seeds (default: the workload's, 1)")
      ("mode", Str("LIST"), "decode | prefill | prefill-causal (default decode)")
      ("causal", Str("LIST"),
       "on | off: the causal mask, bottom-right aligned, decode and prefill alike (default: each "
       "workload's own: a recording's manifest, off for generated data)")
      ("attention", Str("LIST"), "relu | softmax (default softmax)")
      ("alpha", Str("LIST"), "ReLU exponents (default 1; relu points only)")
      ("threshold", Str("LIST"),
       "policies b=VALUE | paper | count=K | frac=F | err=E (default none: relu b=0, hsr-cpu "
       "softmax paper; err= pairs with softmax only)")
      ("index", Str("LIST"), "half-space indexes of hsr-* backends (default sketch8)")
      ("threads", Str("LIST"), "threads per backend (default 1)")
      ("backend", Str("LIST"), "backends run together at every point (default dense-hwy,hsr-cpu)")
      ("backend-max-n", Str("B=N,..."),
       "leave backend B out of points with n > N, e.g. dense-ref=16384")
      ("target", Str("LIST"),
       fmt::format("Highway targets, an axis ({}; default: the dispatcher's best); a point whose "
                   "target this machine cannot run is recorded as skipped with the reason",
                   fmt::join(sim::TargetNames(), ", ")).c_str())
      ("repeats", Str("R"), "the floor of timing samples per backend (default 3)")
      ("cold", Str("MODE"),
       "auto | on | off (default auto = on: caches evicted before each one-call sample, as in "
       "hsr bench decode --help)")
      ("budget", Str("SECONDS"),
       "seconds of paired sampling per point, > 0 (default 3; the default grid: see "
       "--print-grid)")
      ("ci-width", Str("W"),
       "stop sampling a point when every speedup's 95% interval has half-width <= W x its "
       "median, in (0, 1) (default 0.05)")
      ("shard", Str("i/N"),
       "run only points with index % N == i (0-based)")
      ("retry-failed", "run points recorded as failed again (their rows are replaced)")
      ("max-points", Str("K"),
       "stop after running K points (rerun to continue)")
      ("print-grid", "print the grid as JSON (the --grid format) and exit")
      ("list", "print the points (index, id, settings) of this shard and exit");

  const auto parsed = ParseFlags(args, desc);
  if (!parsed) return 0;  // --help
  const po::variables_map& vm = *parsed;

  // Grid: base (file, --quick, or none), then the axis flags as keys.
  HSR_CHECK(!(vm.count("grid") && vm.count("quick")),
            "--grid: expected either --grid FILE or --quick, got both");
  bool any_axis = vm.count("workload") > 0;
  for (const auto& [flag, key] : axes) any_axis = any_axis || vm.count(flag);
  nlohmann::json j = nlohmann::json::object();
  if (vm.count("grid")) {
    const std::string path = *Get(vm, "grid");
    try {
      j = nlohmann::json::parse(ReadText(path));
    } catch (const nlohmann::json::parse_error& e) {
      Fail("--grid {}: expected JSON, got a syntax error at byte {}", path, e.byte);
    }
    HSR_CHECK(j.is_object(), "--grid {}: expected a JSON object, got {}", path, j.type_name());
  } else if (vm.count("quick")) {
    j = nlohmann::json::parse(sim::GridToJson(sim::QuickGrid()).dump());
  } else if (!any_axis) {
    j = nlohmann::json::parse(sim::GridToJson(sim::DefaultGrid()).dump());
  }
  if (vm.count("workload")) j["workload"] = vm["workload"].as<std::vector<std::string>>();
  for (const auto& [flag, key] : axes) {
    if (auto v = Get(vm, flag.c_str())) j[key] = *v;
  }
  const sim::SweepGrid grid = sim::GridFromJson(j);

  sim::SweepOptions opt;
  if (auto v = Get(vm, "shard")) sim::ParseShard(*v, &opt.shard, &opt.shards);
  opt.retry_failed = vm.count("retry-failed") > 0;
  if (auto v = Get(vm, "max-points")) opt.max_points = sim::IntegerFlag("max-points", *v, 1);
  if (vm.count("print-grid")) {
    fmt::print("{}\n", sim::GridToJson(grid).dump(2));
    return 0;
  }
  if (vm.count("list")) {
    for (const auto& p : sim::EnumeratePoints(grid)) {
      if (p.index % opt.shards == opt.shard) fmt::print("{} {} {}\n", p.index, p.id, p.Summary());
    }
    return 0;
  }
  HSR_CHECK(vm.count("out"), "sweep: expected --out DIR (the results folder), got none");
  opt.out_dir = *Get(vm, "out");

  const bool tty = isatty(STDERR_FILENO);
  const size_t width = tty ? TerminalWidth() : 0;
  if (tty) {
    opt.status = [width](const std::string& s) {
      fmt::print(stderr, "\r\033[K{}", s.substr(0, width - 1));
    };
    opt.log = [](const std::string& s) { fmt::print(stderr, "\r\033[K{}\n", s); };
  } else {
    opt.log = [](const std::string& s) { fmt::print(stderr, "{}\n", s); };
  }
  const sim::SweepSummary sum = sim::RunSweep(grid, opt);
  fmt::print(stderr, "sweep: ran {} point(s) ({} failed, {} skipped: target not runnable here), "
                     "skipped {} already done, {:.1f} s; rows in {}/results.jsonl; next: hsr "
                     "report {}\n",
             sum.ran, sum.failed, sum.unavailable, sum.skipped, sum.seconds, opt.out_dir,
             opt.out_dir);
  return 0;
}

}  // namespace hsr::cli
