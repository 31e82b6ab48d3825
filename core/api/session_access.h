// The engine behind a DecodeSession (<hsr/hsr.h>), for the library's own tests: they check the
// session's indexes against a scan over the same keys after every Append.
#pragma once

#include <hsr/hsr.h>

#include "core/hsr/decode_engine.h"

namespace hsr {

struct SessionAccess {
  static const DecodeEngine& Engine(const DecodeSession& session);
};

}  // namespace hsr
