// hsr verify: flag parsing and printing; the suite is sim::RunVerify (sim/suite/verify_suite.h).
#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/base/error.h"
#include "sim/bench/backends.h"
#include "sim/suite/verify_suite.h"

namespace hsr::cli {
namespace {

namespace po = boost::program_options;

uint64_t UnsignedFlag(const std::string& flag, const std::string& s, uint64_t max) {
  uint64_t v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  HSR_CHECK(!s.empty() && ec == std::errc() && ptr == s.data() + s.size() && v <= max,
            "--{}: expected an integer in [0, {}], got {}", flag, max, s);
  return v;
}

}  // namespace

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
  auto str = [] { return po::value<std::string>()->value_name("X"); };
  desc.add_options()
      ("help,h", "this text")
      ("cases", str()->value_name("N"), fmt::format("generated cases (default {})", o.cases).c_str())
      ("seed", str()->value_name("S"), "first case seed (default 1)")
      ("workload", po::value<std::vector<std::string>>()->value_name("SPEC"),
       "also check this workload (repeatable), e.g. npy:DIR,layer=3")
      ("backend", str()->value_name("LIST"), "comma-separated backends (default all built)")
      ("index", str()->value_name("LIST"),
       fmt::format("half-space indexes checked against scan's reported sets on every {}th "
                   "case, comma-separated, or none (default {})", sim::kIndexCaseStride,
                   fmt::join(sim::IndexNamesForVerify(), ",")).c_str())
      ("inject-fault", "perturb every output before comparing (checks the checker: must fail)");
  po::variables_map vm;
  const int style = po::command_line_style::default_style &
                    ~po::command_line_style::allow_guessing;
  const po::positional_options_description no_positional;
  po::store(po::command_line_parser(args).options(desc).positional(no_positional).style(style).run(),
            vm);
  po::notify(vm);
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return 0;
  }
  if (vm.count("cases")) o.cases = UnsignedFlag("cases", vm["cases"].as<std::string>(), 1u << 30);
  if (vm.count("seed")) {
    o.seed = UnsignedFlag("seed", vm["seed"].as<std::string>(), uint64_t{1} << 62);
  }
  if (vm.count("workload")) o.workloads = vm["workload"].as<std::vector<std::string>>();
  if (vm.count("backend")) o.backends = sim::ParseBackendList(vm["backend"].as<std::string>());
  if (vm.count("index")) {
    o.indexes.clear();
    const std::string list = vm["index"].as<std::string>();
    if (list != "none") {
      size_t start = 0;
      for (;;) {
        const size_t comma = list.find(',', start);
        const std::string name = list.substr(start, comma - start);
        HSR_CHECK(!name.empty(), "--index: expected a comma-separated list of indexes or none, "
                  "got '{}'", list);
        o.indexes.push_back(name);
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    }
  }
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
