// Running a check under each Highway target: the targets this binary was compiled for that this
// CPU supports, and a scope that forces one (normal selection restored on exit, also when a check
// throws). Used by the properties (verify/tests) and by `hsr verify` (sim/suite/verify_suite.cc).
// hwy::SupportedAndGeneratedTargets reads the including file's HWY_TARGETS: compile that file with
// hsr_core's target list (HWY_COMPILE_ALL_ATTAINABLE) so the list names what core was built for.
#pragma once

#include <hwy/targets.h>

#include <cstdint>
#include <string>
#include <vector>

namespace hsr::verify {

class ForceTarget {
 public:
  // target 0: no forcing (a backend without Highway code).
  explicit ForceTarget(int64_t target) {
    if (target != 0) hwy::SetSupportedTargetsForTest(target);
  }
  ~ForceTarget() { hwy::SetSupportedTargetsForTest(0); }
  ForceTarget(const ForceTarget&) = delete;
  ForceTarget& operator=(const ForceTarget&) = delete;
};

inline std::vector<int64_t> CompiledTargets() {
  hwy::SetSupportedTargetsForTest(0);
  return hwy::SupportedAndGeneratedTargets();
}

// The targets this binary was compiled for (HWY_TARGETS) that this CPU lacks, as " NAME NAME"
// (empty when it supports all): CompiledTargets() leaves them out, so tests name them (skip).
inline std::string CompiledTargetsThisCpuLacks() {
  hwy::SetSupportedTargetsForTest(0);
  const int64_t supported = hwy::SupportedTargets();
  std::string out;
  for (int64_t t = HWY_TARGETS; t != 0; t &= t - 1) {
    const int64_t bit = t & -t;
    if ((supported & bit) == 0) out += std::string(" ") + hwy::TargetName(bit);
  }
  return out;
}

}  // namespace hsr::verify
