// hsr::Error — the one exception type thrown at API boundaries.
//
// Messages are one line and say what was expected and what was found:
//   "Decode: q has d=63, expected d=64 (from K)".
// HSR_CHECK formats with fmt only when the check fails.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>
#include <utility>

namespace hsr {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

template <typename... Args>
[[noreturn]] void Fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace hsr

// HSR_CHECK(cond, "fmt", args...): throws hsr::Error when cond is false.
#define HSR_CHECK(cond, ...)          \
  do {                                \
    if (!(cond)) ::hsr::Fail(__VA_ARGS__); \
  } while (0)
