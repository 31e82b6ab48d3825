// hsr: command-line harness for HSR-enhanced sparse attention (docs/design.md §4).
// Parsing and dispatch only; the work happens in sim/ and verify/.
#include <boost/program_options/errors.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdio>
#include <exception>
#include <new>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/base/error.h"
#include "sim/bench/backends.h"
#include "sim/machine/build_info.h"

namespace {

constexpr const char* kHelp = R"(hsr - HSR-enhanced sparse attention: library, oracle and benchmark harness

Usage: hsr <command> [flags]       hsr <command> --help for its flags

Commands:
  bench decode    time decode attention (m queries against the n cached keys) per backend,
                  with GB/s vs the measured DRAM read roofline and errors vs a float64 oracle
  bench prefill   the same for prefill (m query rows); both apply the workload's causal mask
                  (bottom-right aligned; a recording's own, off for generated data) unless
                  --causal on|off says otherwise
  bench index     half-space indexes (scan, sketch8, lowrank, balltree, faiss) on the same
                  keys and thresholds: us per query, bytes read, speedup, sets vs scan
  sweep           grid of bench points (n, d, alpha, attention, workload, ...) into
                  DIR/results.jsonl and .csv; resumable, --shard i/N for job arrays
  report DIR      DIR/report.md from DIR/results.jsonl (DIR2 ... shards merged): speedup and
                  error tables, fitted exponents with 95% CI, gnuplot SVG figures
  verify          check every backend and Highway target against the float64 oracle
  inspect SPEC    shapes, norms, score statistics and sparsity of a workload

Global flags:
  -h, --help      this text
  --version       version, git commit and the Highway SIMD target chosen on this CPU

Workload SPEC: KIND[:key=value,...], e.g. gaussian:n=65536,d=128,seed=1
  gaussian keys: n (keys), m (queries), d (head dim), dv (value dim, default d),
                 heads (query heads), kv_heads (default heads; GQA when fewer), seed
  clustered (+ clusters=64, spread=0.1), lowrank (+ rank=16, noise=0.05),
  planted (+ r=64 or gamma=G, beta2=1, gap=4: r keys >= (beta2+gap) ln n, rest <= beta2 ln n),
  sinks (+ sinks=4, strength), recorded: npy:DIR[,layer=L,head=H,m=M|all], npz:FILE,
  safetensors:FILE[,q=NAME,k=NAME,v=NAME], fitted:npy:DIR,n=N (a model fitted to one head);
  a relative DIR or FILE is found from the current directory, else the source tree or the
  install's share/hsr (e.g. npy:sim/workload/data/tinylm-code-2k-f16)

Examples:
  hsr bench decode                                  # n=65536 d=128, 1 thread, dense-hwy
  hsr bench decode --n 262144 --threads 2 --backend dense-ref,dense-hwy
  hsr bench decode --workload gaussian:n=4096,d=64,heads=8,kv_heads=2 --format json
  hsr bench decode --attention relu --alpha 2 --b 0.5 --save-output /tmp/out
  hsr bench prefill --n 4096 --m 4096 --causal on --threads 2
  hsr inspect npy:sim/workload/data/tinylm-code-2k-f16      # recordings shipped in the repo
  hsr sweep --quick --out /tmp/sweep && hsr sweep --out runs/default
  hsr report /tmp/sweep                             # /tmp/sweep/report.md + plots/*.svg
  hsr verify --cases 50 --workload npy:sim/workload/data/tinylm-docs-2k-f16

Exit codes: 0 success, 2 bad input (one line "hsr: error: ..." on stderr), 1 runtime failure.
)";

int Run(const std::vector<std::string>& args) {
  if (args.empty()) {
    std::fputs(kHelp, stderr);
    return 2;
  }
  const std::string& cmd = args[0];
  if (cmd == "-h" || cmd == "--help" || cmd == "help") {
    std::fputs(kHelp, stdout);
    return 0;
  }
  if (cmd == "--version") {
    fmt::print("hsr {} (commit {}), Highway target {}, backends {}\n", hsr::sim::BuildVersion(),
               hsr::sim::BuildCommit(), hsr::sim::CpuTargetName(),
               fmt::join(hsr::sim::BackendNames(), ", "));
    return 0;
  }
  if (cmd == "bench") {
    HSR_CHECK(args.size() >= 2, "bench: expected a mode (decode, prefill, index), got none");
    const std::string& mode = args[1];
    const std::vector<std::string> rest(args.begin() + 2, args.end());
    if (mode == "decode") return hsr::cli::BenchAttention(rest, false);
    if (mode == "prefill") return hsr::cli::BenchAttention(rest, true);
    if (mode == "-h" || mode == "--help") {
      std::fputs("Usage: hsr bench decode|prefill|index [flags]; hsr bench decode --help lists them\n",
                 stdout);
      return 0;
    }
    if (mode == "index") return hsr::cli::BenchIndex(rest);
    hsr::Fail("bench: expected a mode among decode, prefill, index, got '{}'", mode);
  }
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (cmd == "inspect") return hsr::cli::Inspect(rest);
  if (cmd == "verify") return hsr::cli::Verify(rest);
  if (cmd == "sweep") return hsr::cli::Sweep(rest);
  if (cmd == "report") return hsr::cli::Report(rest);
  hsr::Fail("expected a command among bench, sweep, report, verify, inspect (see hsr --help), "
            "got '{}'", cmd);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    return Run(args);
  } catch (const hsr::Error& e) {
    fmt::print(stderr, "hsr: error: {}\n", e.what());
    return 2;
  } catch (const boost::program_options::error& e) {
    fmt::print(stderr, "hsr: error: {}; expected the flags listed by --help\n", e.what());
    return 2;
  } catch (const std::bad_alloc&) {
    fmt::print(stderr, "hsr: error: out of memory (expected the workload, its indexes and "
                       "the bandwidth probe's buffer to fit; try a smaller n)\n");
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "hsr: error: {}\n", e.what());
    return 1;
  }
}
