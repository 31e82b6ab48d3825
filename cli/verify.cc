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
#include "sim/suite/verify_suite.h"

namespace hsr::cli {

int Verify(const std::vector<std::string>& args) {
  sim::VerifyOptions o;
  po::options_description desc(fmt::format(
      "Usage: hsr verify [flags]\n\n"
      "Checks every backend ({}) under every compiled Highway target against the float64 oracle "
      "(derived tolerances): generated cases (random shapes, layouts, kinds, thresholds; case c "
      "uses seed S + c) and each --workload (blocks of query rows; recorded data as causal "
      "prefill). Prints pass counts per property; on failure the case, the seed and a command "
      "reproducing it; exits 1 on any failure.\n\nFlags",
      fmt::join(sim::BackendNames(), ", ")));
  desc.add_options()
      ("help,h", "this text")
      ("cases", Str("N"), fmt::format("generated cases (default {})", o.cases).c_str())
      ("seed", Str("S"), "first case seed (default 1)")
      ("workload", po::value<std::vector<std::string>>()->value_name("SPEC"),
       "also check this workload (repeatable), e.g. npy:DIR,layer=3")
      ("backend", Str("LIST"), "comma-separated backends (default all built)")
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
  if (auto v = Get(vm, "index")) o.indexes = ListOrNone("index", *v, "indexes");
  o.inject_fault = vm.count("inject-fault") > 0;
  o.log = [](const std::string& line) { fmt::print("{}\n", line); };

  const auto t0 = std::chrono::steady_clock::now();
  const sim::VerifyReport r = sim::RunVerify(o);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  fmt::print("# hsr verify: {} generated case(s) from seed {}, {} workload(s), backends {}, "
             "indexes {}, Highway targets {} ({:.1f} s)\n",
             r.cases, o.seed, o.workloads.size(),
             fmt::join(o.backends.empty() ? sim::BackendNames() : o.backends, ", "),
             o.indexes.empty() ? std::string("none") : fmt::format("{}", fmt::join(o.indexes, ", ")),
             fmt::join(r.targets, ", "), secs);
  for (const auto& p : r.properties) {
    fmt::print("{:<6} {:>7} passed {:>5} failed  {}\n", p.failed ? "FAIL" : "ok", p.passed,
               p.failed, p.name);
  }
  if (r.skipped) {
    fmt::print("skipped {} run(s): softmax of approximate backends without per-row "
               "certificates, or shapes a backend does not support\n", r.skipped);
  }
  if (!r.ok()) {
    fmt::print("{} failure(s); first: {} [{} {}]\n  reproduce: {}\n", r.failures.size(),
               r.failures[0].property, r.failures[0].backend, r.failures[0].target,
               r.failures[0].reproduce);
    return 1;
  }
  fmt::print("all properties passed\n");
  return 0;
}

}  // namespace hsr::cli
