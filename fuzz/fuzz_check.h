// Shared checks for the libFuzzer targets: a reader may reject input only with hsr::Error, and
// its message must be one line naming what was expected; anything else is a bug (abort).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/base/error.h"

namespace hsr::fuzz {

inline void CheckError(const hsr::Error& e) {
  const std::string msg = e.what();
  if (msg.find('\n') != std::string::npos || msg.find("expected") == std::string::npos) {
    std::fprintf(stderr, "bad error message (must be one line with 'expected'): %s\n", msg.c_str());
    std::abort();
  }
}

inline void Require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

}  // namespace hsr::fuzz
