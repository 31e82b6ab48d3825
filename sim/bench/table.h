// The console tables of `hsr bench decode|prefill|index`: aligned columns, two spaces apart, a
// header line, trailing blanks trimmed; and byte sizes written the same way in every line.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace hsr::sim {

// Prints header and rows (each as many cells as header) with every column as wide as its widest
// cell: left-aligned where left[c] (text), right-aligned otherwise (numbers).
void PrintAligned(std::FILE* out, const std::vector<std::string>& header,
                  const std::vector<std::vector<std::string>>& rows, const std::vector<bool>& left);

// "12.0 KiB" below 1 MiB, "3.5 MiB" below 1 GiB, else "1.25 GiB".
std::string FormatBytes(double bytes);

}  // namespace hsr::sim
