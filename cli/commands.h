// Subcommands of the hsr executable. Each takes the arguments after its name and returns the
// exit code; they throw hsr::Error or boost::program_options::error on bad input, which main()
// turns into one "hsr: error: ..." line and exit code 2.
#pragma once

#include <string>
#include <vector>

namespace hsr::cli {

// hsr bench decode|prefill [flags]. prefill: Prefill() with --m queries and optional --causal.
int BenchAttention(const std::vector<std::string>& args, bool prefill);

}  // namespace hsr::cli
