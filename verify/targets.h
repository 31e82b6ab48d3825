// Running a check under each Highway target: the targets this binary was compiled for that this
// CPU supports, and a scope that forces one (normal selection restored on exit, also when a check
// throws). Used by the properties (verify/tests) and by `hsr verify` (sim/suite/verify_suite.cc).
// hwy::SupportedAndGeneratedTargets reads the including file's HWY_TARGETS: compile that file with
// hsr_core's target list (HWY_COMPILE_ALL_ATTAINABLE) so the list names what core was built for.
#pragma once

#include <hwy/targets.h>

#include <cstdint>
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

}  // namespace hsr::verify
