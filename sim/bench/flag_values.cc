#include "sim/bench/flag_values.h"

#include <algorithm>
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

std::vector<std::string> ParseUniqueList(std::string_view list, const std::string& what,
                                         const std::string& noun,
                                         const std::vector<std::string>& names,
                                         const std::function<void(const std::string&)>& check) {
  std::vector<std::string> out;
  for (const std::string& name : SplitComma(list)) {
    HSR_CHECK(!name.empty(), "{}: expected a comma-separated list of {}, got an empty name", what,
              fmt::join(names, ", "));
    check(name);
    HSR_CHECK(std::find(out.begin(), out.end(), name) == out.end(),
              "{}: expected each {} once, got '{}' twice", what, noun, name);
    out.push_back(name);
  }
  return out;
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
