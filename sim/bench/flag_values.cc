#include "sim/bench/flag_values.h"

#include <charconv>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/base/error.h"

namespace hsr::sim {

std::optional<uint64_t> ParseUnsigned(const std::string& s) {
  uint64_t v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<double> ParseFinite(const std::string& s) {
  double v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(v)) {
    return std::nullopt;
  }
  return v;
}

uint64_t IntegerFlag(const std::string& flag, const std::string& s, uint64_t min) {
  const auto v = ParseUnsigned(s);
  HSR_CHECK(v && *v >= min, "--{}: expected an integer {} >= {}, got {}", flag, flag, min, s);
  return *v;
}

std::string Choice(const std::string& flag, const std::string& s,
                   const std::vector<std::string>& allowed) {
  for (const auto& a : allowed) {
    if (s == a) return s;
  }
  Fail("--{}: expected one of {}, got '{}'", flag, fmt::join(allowed, ", "), s);
}

std::vector<std::string> SplitComma(std::string_view s) {
  std::vector<std::string> out;
  while (true) {
    const size_t comma = s.find(',');
    out.emplace_back(s.substr(0, comma));
    if (comma == std::string_view::npos) break;
    s = s.substr(comma + 1);
  }
  return out;
}

}  // namespace hsr::sim
