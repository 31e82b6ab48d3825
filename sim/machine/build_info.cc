#include "sim/machine/build_info.h"

#include "hsr_git_commit.h"  // generated at build time (cmake/GitCommit.cmake)

#include <unistd.h>

#include <fstream>

namespace hsr::sim {

std::string BuildVersion() { return HSR_VERSION; }
std::string BuildCommit() { return HSR_GIT_COMMIT; }

std::string HostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "unknown";
  return buf;
}

std::string CpuModel() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) {
        const size_t start = line.find_first_not_of(' ', colon + 1);
        return start == std::string::npos ? "unknown" : line.substr(start);
      }
    }
  }
  return "unknown";
}

}  // namespace hsr::sim
