// hsr inspect SPEC: flag parsing and printing; the statistics are sim::Inspect
// (sim/inspect/inspect.h).
#include <fmt/format.h>

#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/flags.h"
#include "core/base/error.h"
#include "sim/bench/flag_values.h"
#include "sim/inspect/inspect.h"
#include "sim/workload/workload.h"

namespace hsr::cli {

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
  desc.add_options()
      ("help,h", "this text")
      ("spec", Str("SPEC"), "workload, e.g. npy:DIR,layer=3 or planted:n=4096,d=64")
      ("queries", Str("Q"), "sampled query rows per head (default 64)")
      ("err", Str("E"), "target softmax error of the keys-needed columns "
       "(tau certificate / sketch8 certificate / hsr-cpu err=E / true minimum), E in (0, 1) "
       "(default 0.001)")
      ("format", Str("FMT"), "table | json (default table)");
  po::positional_options_description pos;
  pos.add("spec", 1);
  const auto parsed = ParseFlags(args, desc, pos);
  if (!parsed) return 0;  // --help
  const po::variables_map& vm = *parsed;
  HSR_CHECK(vm.count("spec"), "inspect: expected a workload SPEC (e.g. gaussian:n=4096,d=64), "
            "got none");
  sim::InspectOptions options;
  if (auto v = Get(vm, "queries")) options.queries = IntegerInRange("queries", *v, 1, 100000);
  if (auto v = Get(vm, "err")) {
    const auto e = sim::ParseFinite(*v);
    HSR_CHECK(e && *e > 0.0 && *e < 1.0, "--err: expected E in (0, 1), got {}", *v);
    options.cert_err = *e;
  }
  const std::string format =
      sim::Choice("format", Get(vm, "format").value_or("table"), {"table", "json"});
  sim::WorkloadSpec spec = sim::ParseWorkloadSpec(*Get(vm, "spec"));
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
