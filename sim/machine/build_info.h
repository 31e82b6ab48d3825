// Facts about this build and this machine, copied into `hsr --version` and every result row.
#pragma once

#include <string>

namespace hsr::sim {

std::string BuildVersion();  // e.g. "0.1.0"
std::string BuildCommit();   // short git hash at configure time, or "unknown"
std::string HostName();
std::string CpuModel();      // /proc/cpuinfo "model name", or "unknown"

}  // namespace hsr::sim
