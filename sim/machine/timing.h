// The wall clock every timed sample in sim/ reads (summaries of the samples: sim/stats/summary.h).
#pragma once

#include <chrono>

namespace hsr::sim {

// Monotonic wall clock in microseconds.
inline double NowMicros() {
  using Clock = std::chrono::steady_clock;
  return std::chrono::duration<double, std::micro>(Clock::now().time_since_epoch()).count();
}

}  // namespace hsr::sim
