// Throwing hsr::Error (the one exception type thrown at API boundaries; declared in the public
// <hsr/error.h>) with a one-line "what: expected X, got Y" message.
// HSR_CHECK formats with fmt only when the check fails.
#pragma once

#include <fmt/format.h>

#include <hsr/error.h>

#include <utility>

namespace hsr {

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
