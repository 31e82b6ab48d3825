// Highway targets by their command-line names: `--target` of hsr bench, hsr sweep (grid key
// `target`) and hsr verify. A choice forces dispatch to that target (verify::ForceTarget, i.e.
// hwy::SetSupportedTargetsForTest: every HWY_DYNAMIC_DISPATCH in core/ and sim/ reads Highway's
// chosen target at each call, nothing caches a choice), `best` leaves the dispatcher's own pick.
//
// Names: best, avx3_zen4, avx3_dl, avx3, avx2, sse4, ssse3, emu128, scalar (x86; Highway 1.0.3
// has no AVX3_ZEN4 target, and compiles one of its two portable fallbacks, EMU128 or SCALAR). A
// name can be unavailable here, with a reason: "not compiled in this Highway (1.0.3)", "not
// compiled in this build", "not supported by this CPU". hsr bench makes that a one-line error
// (RequireTarget); hsr sweep and hsr verify record it as skipped with the reason.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hsr::sim {

struct TargetChoice {
  std::string name = "best";  // as given
  int64_t bits = 0;           // the Highway target bit; 0 for best (no forcing)
  std::string unavailable;    // empty when it can run here, else the reason
};

// Every name above, best first.
std::vector<std::string> TargetNames();

// The choice for a name; hsr::Error "--target: expected one of best, emu128, ..., got 'x'" for
// an unknown one. An unavailable target is returned with its reason (not an error).
TargetChoice LookupTarget(std::string_view name);
// LookupTarget, and a one-line hsr::Error naming the reason when the target cannot run here:
// "--target: expected a target this machine runs (best, avx3_dl, ...), got 'avx3': not
// supported by this CPU".
TargetChoice RequireTarget(std::string_view name);
// "a,b" -> names, each known (LookupTarget), none twice, none empty.
std::vector<std::string> ParseTargetList(std::string_view list);

// The targets compiled in this build that this CPU runs, best first, as choices (the names
// above): what hsr verify checks when no --target is given.
std::vector<TargetChoice> RunnableTargets();

}  // namespace hsr::sim
