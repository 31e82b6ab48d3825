// hsr inspect SPEC: flag parsing and printing; the statistics are sim::Inspect (sim/inspect/inspect.h).
#include <boost/program_options.hpp>
#include <fmt/format.h>

#include <charconv>
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/base/error.h"
#include "sim/inspect/inspect.h"
#include "sim/workload/workload.h"

namespace hsr::cli {

namespace po = boost::program_options;

int Inspect(const std::vector<std::string>& args) {
  po::options_description desc(
      "Usage: hsr inspect SPEC [flags]\n\n"
      "Shapes, Q/K norms, scaled-score distribution, keys reported per query at the paper "
      "threshold b = mu + sigma sqrt(0.4 ln n) and at score quantiles next to n^(4/5), softmax "
      "mass in the top n^(4/5) keys and above b, effective rank of K (90% / 99% energy) and sink "
      "keys, keys to read for softmax error <= E under the tau and sketch8 certificates, "
      "hsr-cpu's err=E path and the true minimum, per query head. Recorded causal data: "
      "queries from the second half of the sequence "
      "(all rows are loaded: m=all). Generated kinds default to m=64 queries.\n\nFlags");
  auto str = [] { return po::value<std::string>()->value_name("X"); };
  desc.add_options()
      ("help,h", "this text")
      ("spec", str()->value_name("SPEC"), "workload, e.g. npy:DIR,layer=3 or planted:n=4096,d=64")
      ("queries", str()->value_name("Q"), "sampled query rows per head (default 64)")
      ("err", str()->value_name("E"), "target softmax error of the keys-needed columns "
       "(tau certificate / sketch8 certificate / hsr-cpu err=E / true minimum), E in (0, 1) "
       "(default 0.001)")
      ("format", str()->value_name("FMT"), "table | json (default table)");
  po::positional_options_description pos;
  pos.add("spec", 1);
  po::variables_map vm;
  const int style = po::command_line_style::default_style &
                    ~po::command_line_style::allow_guessing;
  po::store(po::command_line_parser(args).options(desc).positional(pos).style(style).run(), vm);
  po::notify(vm);
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return 0;
  }
  HSR_CHECK(vm.count("spec"), "inspect: expected a workload SPEC (e.g. gaussian:n=4096,d=64), "
            "got none");
  sim::InspectOptions options;
  if (vm.count("queries")) {
    const std::string s = vm["queries"].as<std::string>();
    uint64_t v = 0;
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    HSR_CHECK(!s.empty() && ec == std::errc() && ptr == s.data() + s.size() && v >= 1 &&
              v <= 100000, "--queries: expected an integer in [1, 100000], got {}", s);
    options.queries = v;
  }
  if (vm.count("err")) {
    const std::string s = vm["err"].as<std::string>();
    double e = 0.0;
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), e);
    HSR_CHECK(!s.empty() && ec == std::errc() && ptr == s.data() + s.size() && e > 0.0 && e < 1.0,
              "--err: expected E in (0, 1), got {}", s);
    options.cert_err = e;
  }
  const std::string format = vm.count("format") ? vm["format"].as<std::string>() : "table";
  HSR_CHECK(format == "table" || format == "json",
            "--format: expected one of table, json, got '{}'", format);
  sim::WorkloadSpec spec = sim::ParseWorkloadSpec(vm["spec"].as<std::string>());
  if (!spec.Has("m")) spec.Set("m", sim::IsPathKind(spec.kind) ? "all" : "64");
  const sim::Workload w = sim::MakeWorkloadSource(spec)->Make();
  const sim::Inspection in = sim::Inspect(w, options);
  if (format == "json") {
    fmt::print("{}\n", sim::InspectionToJson(in).dump());
  } else {
    fmt::print("{}", sim::FormatInspectionTable(in));
  }
  return 0;
}

}  // namespace hsr::cli
