// Test helper: f() must throw a one-line hsr::Error whose message contains needle.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "core/base/error.h"

namespace hsr::verify {

template <class F>
void ExpectError(F&& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "expected an hsr::Error containing '" << needle << "'";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

}  // namespace hsr::verify
