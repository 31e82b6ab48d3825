// Subcommands of the hsr executable. Each takes the arguments after its name and returns the
// exit code; they throw hsr::Error or boost::program_options::error on bad input, which main()
// turns into one "hsr: error: ..." line and exit code 2.
#pragma once

#include <string>
#include <vector>

namespace hsr::cli {

// hsr bench decode|prefill [flags]. prefill: Prefill() with --m queries; both take --causal on|off.
int BenchAttention(const std::vector<std::string>& args, bool prefill);

// hsr bench index [flags]: every half-space index on the same keys (cli/bench_index.cc).
int BenchIndex(const std::vector<std::string>& args);

// hsr inspect SPEC [--queries Q] [--format table|json] (cli/inspect.cc).
int Inspect(const std::vector<std::string>& args);

// hsr sweep [grid flags | --grid FILE | --quick] --out DIR [--shard i/N] (cli/sweep.cc).
int Sweep(const std::vector<std::string>& args);

// hsr report DIR [DIR2 ...] [--out DIR] [--no-plots] [--gnuplot PROG] (cli/report.cc).
int Report(const std::vector<std::string>& args);

// hsr verify [--cases N] [--seed S] [--workload SPEC] [--backend LIST] (cli/verify.cc).
int Verify(const std::vector<std::string>& args);

}  // namespace hsr::cli
