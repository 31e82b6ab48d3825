#include "sim/bench/table.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/base/error.h"

namespace hsr::sim {

void PrintAligned(std::FILE* out, const std::vector<std::string>& header,
                  const std::vector<std::vector<std::string>>& rows,
                  const std::vector<bool>& left) {
  HSR_CHECK(left.size() == header.size(), "table: expected {} alignments, got {}", header.size(),
            left.size());
  std::vector<size_t> width(header.size());
  for (size_t c = 0; c < header.size(); ++c) {
    width[c] = header[c].size();
    for (const auto& row : rows) {
      HSR_CHECK(row.size() == header.size(), "table: expected {} cells per row, got {}",
                header.size(), row.size());
      width[c] = std::max(width[c], row[c].size());
    }
  }
  auto print_line = [&](const std::vector<std::string>& line) {
    std::string s;
    for (size_t c = 0; c < line.size(); ++c) {
      if (c > 0) s += "  ";
      s += left[c] ? fmt::format("{:<{}}", line[c], width[c])
                   : fmt::format("{:>{}}", line[c], width[c]);
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    fmt::print(out, "{}\n", s);
  };
  print_line(header);
  for (const auto& row : rows) print_line(row);
}

std::string FormatBytes(double bytes) {
  if (bytes < (1 << 20)) return fmt::format("{:.1f} KiB", bytes / (1 << 10));
  if (bytes < (1 << 30)) return fmt::format("{:.1f} MiB", bytes / (1 << 20));
  return fmt::format("{:.2f} GiB", bytes / (1 << 30));
}

}  // namespace hsr::sim
