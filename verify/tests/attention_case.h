// RapidCheck view of the one attention-case generator (verify/cases.h): every choice of
// DrawAttentionCase is an rc generator, so failing cases shrink.
#pragma once

#include <rapidcheck.h>

#include <cstddef>
#include <initializer_list>

#include "verify/cases.h"

namespace hsr::verify {

// Draw backed by RapidCheck (valid inside rc::gen::exec or a property).
class RcDraw {
 public:
  size_t Range(size_t lo, size_t hi) { return *rc::gen::inRange<size_t>(lo, hi); }
  size_t Pick(std::initializer_list<int> weights) {
    // A point in [0, total) mapped to its weight's index; shrinks toward the first choice.
    size_t total = 0;
    for (int w : weights) total += static_cast<size_t>(w);
    size_t x = *rc::gen::inRange<size_t>(0, total), i = 0;
    for (int w : weights) {
      if (x < static_cast<size_t>(w)) return i;
      x -= static_cast<size_t>(w);
      ++i;
    }
    return i - 1;
  }
};

inline rc::Gen<AttentionCase> GenAttentionCase() {
  return rc::gen::exec([] {
    RcDraw draw;
    return DrawAttentionCase(draw);
  });
}

}  // namespace hsr::verify
