// NowUs: the monotonic clock in microseconds, for the build and preprocessing times the engines
// report (differences of two calls; the epoch is arbitrary).
#pragma once

#include <chrono>

namespace hsr {

inline double NowUs() {
  return std::chrono::duration<double, std::micro>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace hsr
