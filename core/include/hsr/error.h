// hsr::Error: the one exception type the library throws (public; <hsr/hsr.h> includes it).
//
// Messages are one line and say what was expected and what was found:
//   "hsr: expected Q with d=64 (as K), got d=63".
#pragma once

#include <stdexcept>
#include <string>

namespace hsr {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace hsr
