// Flag handling shared by every hsr subcommand (cli/*.cc): one Boost.Program_options style (no
// abbreviated flags; words are errors unless declared positional), --help, values read back as
// strings, and the value checks that name their flag ("--cases: expected an integer in [0, N],
// got x"). Scalars are parsed by sim's strict parsers (sim/bench/point_config.h), so a flag and a
// sweep grid key accept the same text. Errors are hsr::Error or po::error (main: exit 2).
#pragma once

#include <boost/program_options.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hsr::cli {

namespace po = boost::program_options;

// A string-valued flag; value_name is what --help shows ("N", "SPEC", ...).
po::typed_value<std::string>* Str(const char* value_name);

// Parses args against desc (and the positional names, if any). Returns nullopt after printing
// desc for --help / -h (the caller returns 0).
std::optional<po::variables_map> ParseFlags(
    const std::vector<std::string>& args, const po::options_description& desc,
    const po::positional_options_description& positional = po::positional_options_description());

// The string value of a flag, nullopt when it was not given.
std::optional<std::string> Get(const po::variables_map& vm, const char* key);

// s as an integer in [lo, hi], else "--flag: expected an integer in [lo, hi], got s".
uint64_t IntegerInRange(const std::string& flag, const std::string& s, uint64_t lo, uint64_t hi);

// "a,b,c" -> {"a", "b", "c"}, or {} for "none"; "--flag: expected a comma-separated list of
// `what` or none, got 's'" for an empty name.
std::vector<std::string> ListOrNone(const std::string& flag, const std::string& s,
                                    const std::string& what);

}  // namespace hsr::cli
