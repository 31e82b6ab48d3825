// hsr verify: flag parsing and printing; the suite is sim::RunVerify (sim/suite/verify_suite.h).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/flags.h"
#include "core/base/error.h"
#include "sim/bench/backends.h"
#include "sim/bench/targets.h"
#include "sim/suite/verify_suite.h"

namespace hsr::cli {

int Verify(const std::vector<std::string>& args) {
  sim::VerifyOptions o;
  po::options_description desc(fmt::format(
      "Usage: hsr verify [flags]\n\n"
      "Checks every backend ({}) under every Highway target this CPU runs (or --target) against "
      "the float64 oracle (derived tolerances): generated cases (random shapes, layouts, kinds, "
      "thresholds; case c uses seed S + c) and each --workload (blocks of query rows; recorded "
      "data as causal prefill). Prints pass counts per property; names every backend, target "
      "or kind of run not exercised, with the reason (counted as skipped, never as passed); on "
      "failure the case, the seed and a command reproducing it; exits 1 on any failure.\n\n"
      "Flags",
      fmt::join(sim::BackendNames(), ", ")));
  desc.add_options()
      ("help,h", "this text")
      ("cases", Str("N"), fmt::format("generated cases (default {})", o.cases).c_str())
      ("seed", Str("S"), "first case seed (default 1)")
      ("workload", po::value<std::vector<std::string>>()->value_name("SPEC"),
       "also check this workload (repeatable), e.g. npy:DIR,layer=3")
      ("backend", Str("LIST"), "comma-separated backends (default all built)")
      ("target", Str("LIST"),
       fmt::format("Highway targets, comma-separated, of {} (default: every target this CPU "
                   "runs); one this machine cannot run is skipped with the reason",
                   fmt::join(sim::TargetNames(), ", ")).c_str())
      ("index", Str("LIST"),
       fmt::format("half-space indexes checked against scan's reported sets on every {}th "
                   "case, comma-separated, or none (default {})", sim::kIndexCaseStride,
                   fmt::join(sim::IndexNamesForVerify(), ",")).c_str())
      ("inject-fault", "perturb every output before comparing (checks the checker: must fail)");
  const auto parsed = ParseFlags(args, desc);
  if (!parsed) return 0;  // --help
  const po::variables_map& vm = *parsed;
  if (auto v = Get(vm, "cases")) o.cases = IntegerInRange("cases", *v, 0, 1u << 30);
  if (auto v = Get(vm, "seed")) o.seed = IntegerInRange("seed", *v, 0, uint64_t{1} << 62);
  if (vm.count("workload")) o.workloads = vm["workload"].as<std::vector<std::string>>();
  if (auto v = Get(vm, "backend")) o.backends = sim::ParseBackendList(*v);
  if (auto v = Get(vm, "target")) o.targets = sim::ParseTargetList(*v);
  if (auto v = Get(vm, "index")) o.indexes = ListOrNone("index", *v, "indexes");
  o.inject_fault = vm.count("inject-fault") > 0;
  o.log = [](const std::string& line) { fmt::print("{}\n", line); };

  const auto t0 = std::chrono::steady_clock::now();
  const sim::VerifyReport r = sim::RunVerify(o);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  fmt::print("# hsr verify: {} generated case(s) from seed {}, {} workload(s), backends checked "
             "{}, indexes {}, Highway targets checked {} ({:.1f} s)\n",
             r.cases, o.seed, o.workloads.size(),
             r.backends.empty() ? std::string("none") : fmt::format("{}", fmt::join(r.backends, ", ")),
             o.indexes.empty() ? std::string("none") : fmt::format("{}", fmt::join(o.indexes, ", ")),
             r.targets.empty() ? std::string("none") : fmt::format("{}", fmt::join(r.targets, ", ")),
             secs);
  for (const auto& p : r.properties) {
    fmt::print("{:<6} {:>7} passed {:>5} failed  {}\n", p.failed ? "FAIL" : "ok", p.passed,
               p.failed, p.name);
  }
  size_t failed = 0;
  for (const auto& p : r.properties) failed += p.failed;
  size_t skipped_whole = 0;
  for (const auto& s : r.skips) {
    if (s.runs == 0) {
      ++skipped_whole;
      fmt::print("skipped: {}: {}\n", s.what, s.reason);
    } else {
      fmt::print("skipped {} run(s): {}: {}\n", s.runs, s.what, s.reason);
    }
  }
  fmt::print("summary: {} check(s) passed, {} failed; skipped {} backend(s)/target(s) and {} "
             "run(s), named above (not counted as passed)\n",
             r.Passed(), failed, skipped_whole, r.skipped);
  if (!r.ok()) {
    fmt::print("{} failure(s); first: {} [{} {}]\n  reproduce: {}\n", r.failures.size(),
               r.failures[0].property, r.failures[0].backend, r.failures[0].target,
               r.failures[0].reproduce);
    return 1;
  }
  if (r.Passed() == 0) {
    fmt::print("no check ran: nothing was verified\n");
    return 1;
  }
  fmt::print("all properties passed\n");
  return 0;
}

}  // namespace hsr::cli
