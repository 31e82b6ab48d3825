#include "cli/flags.h"

#include <iostream>

#include "core/base/error.h"
#include "sim/bench/point_config.h"

namespace hsr::cli {

po::typed_value<std::string>* Str(const char* value_name) {
  return po::value<std::string>()->value_name(value_name);
}

std::optional<po::variables_map> ParseFlags(const std::vector<std::string>& args,
                                            const po::options_description& desc,
                                            const po::positional_options_description& positional) {
  po::variables_map vm;
  const int style = po::command_line_style::default_style &
                    ~po::command_line_style::allow_guessing;
  po::store(po::command_line_parser(args).options(desc).positional(positional).style(style).run(),
            vm);
  po::notify(vm);
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return std::nullopt;
  }
  return vm;
}

std::optional<std::string> Get(const po::variables_map& vm, const char* key) {
  if (!vm.count(key)) return std::nullopt;
  return vm[key].as<std::string>();
}

uint64_t IntegerInRange(const std::string& flag, const std::string& s, uint64_t lo, uint64_t hi) {
  const auto v = sim::ParseUnsigned(s);
  HSR_CHECK(v && *v >= lo && *v <= hi, "--{}: expected an integer in [{}, {}], got {}", flag, lo,
            hi, s);
  return *v;
}

std::vector<std::string> ListOrNone(const std::string& flag, const std::string& s,
                                    const std::string& what) {
  if (s == "none") return {};
  std::vector<std::string> names = sim::SplitComma(s);
  for (const auto& name : names) {
    HSR_CHECK(!name.empty(), "--{}: expected a comma-separated list of {} or none, got '{}'",
              flag, what, s);
  }
  return names;
}

}  // namespace hsr::cli
