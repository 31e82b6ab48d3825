#include "sim/bench/targets.h"

#include <hwy/highway.h>
#include <hwy/targets.h>

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/base/error.h"
#include "sim/bench/flag_values.h"

namespace hsr::sim {
namespace {

struct Known {
  const char* name;
  int64_t bits;  // 0: best, -1: a target this Highway does not have
};

// x86 names, best first after `best`. HWY_TARGETS here is hsr_core's list: this file is
// compiled with HWY_COMPILE_ALL_ATTAINABLE like core/ (sim/CMakeLists.txt).
const std::vector<Known>& KnownTargets() {
  static const std::vector<Known> known = {
      {"best", 0},
#ifdef HWY_AVX3_ZEN4
      {"avx3_zen4", HWY_AVX3_ZEN4},
#else
      {"avx3_zen4", -1},
#endif
      {"avx3_dl", HWY_AVX3_DL}, {"avx3", HWY_AVX3},     {"avx2", HWY_AVX2},
      {"sse4", HWY_SSE4},       {"ssse3", HWY_SSSE3},   {"emu128", HWY_EMU128},
      {"scalar", HWY_SCALAR},
  };
  return known;
}

std::string Reason(int64_t bits) {
  if (bits < 0) {
    return fmt::format("not compiled in this Highway ({}.{}.{})", HWY_MAJOR, HWY_MINOR,
                       HWY_PATCH);
  }
  if ((bits & HWY_TARGETS) == 0) return "not compiled in this build";
  hwy::SetSupportedTargetsForTest(0);  // the CPU's own set (no forcing active while resolving)
  if ((bits & hwy::SupportedTargets()) == 0) return "not supported by this CPU";
  return "";
}

}  // namespace

std::vector<std::string> TargetNames() {
  std::vector<std::string> names;
  for (const auto& k : KnownTargets()) names.emplace_back(k.name);
  return names;
}

TargetChoice LookupTarget(std::string_view name) {
  for (const auto& k : KnownTargets()) {
    if (name != k.name) continue;
    TargetChoice c;
    c.name = k.name;
    c.bits = std::max<int64_t>(k.bits, 0);
    if (k.bits != 0) c.unavailable = Reason(k.bits);
    return c;
  }
  Fail("--target: expected one of {}, got '{}'", fmt::join(TargetNames(), ", "), name);
}

std::vector<TargetChoice> RunnableTargets() {
  std::vector<TargetChoice> out;
  for (const auto& k : KnownTargets()) {
    if (k.bits <= 0) continue;
    TargetChoice c = LookupTarget(k.name);
    if (c.unavailable.empty()) out.push_back(std::move(c));
  }
  return out;
}

TargetChoice RequireTarget(std::string_view name) {
  TargetChoice c = LookupTarget(name);
  if (!c.unavailable.empty()) {
    std::vector<std::string> runnable = {"best"};
    for (const auto& r : RunnableTargets()) runnable.push_back(r.name);
    Fail("--target: expected a target this machine runs ({}), got '{}': {}",
         fmt::join(runnable, ", "), name, c.unavailable);
  }
  return c;
}

std::vector<std::string> ParseTargetList(std::string_view list) {
  return ParseUniqueList(list, "--target", "target", TargetNames(),
                         [](const std::string& name) { LookupTarget(name); });
}

}  // namespace hsr::sim
