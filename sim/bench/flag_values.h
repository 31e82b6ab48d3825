// Strict parsing of flag and grid values, shared by the bench point settings (point_config.h),
// sweep grids (sim/sweep/grid.h), the backend and index lists, and the command line
// (cli/flags.h): whole strings only, no sign, no spaces; errors name the flag.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hsr::sim {

// A whole-string unsigned integer ("12"; "1.5", "-1", " 1", "1e3" rejected), else nullopt.
std::optional<uint64_t> ParseUnsigned(const std::string& s);
// A whole-string finite real ("0.5", "1e-3"; "nan", "inf", "1x" rejected), else nullopt.
std::optional<double> ParseFinite(const std::string& s);
// "--n: expected an integer n >= 1, got 0" unless s is an integer >= min.
uint64_t IntegerFlag(const std::string& flag, const std::string& s, uint64_t min);
// s if it is one of allowed, else "--flag: expected one of a, b, got 's'".
std::string Choice(const std::string& flag, const std::string& s,
                   const std::vector<std::string>& allowed);

// "a,b,,c" -> {"a", "b", "", "c"}: every comma splits, empty names kept for the caller's error.
std::vector<std::string> SplitComma(std::string_view s);

// "a,b" -> {"a", "b"}: none empty ("WHAT: expected a comma-separated list of NAMES, got an empty
// name"), each checked by `check` (which throws for an unknown one), none twice ("WHAT: expected
// each NOUN once, got 'a' twice"). For the backend and target lists.
std::vector<std::string> ParseUniqueList(std::string_view list, const std::string& what,
                                         const std::string& noun,
                                         const std::vector<std::string>& names,
                                         const std::function<void(const std::string&)>& check);

}  // namespace hsr::sim
