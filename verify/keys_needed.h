// Keys a softmax query must read for a target error E under three certificates, for
// `hsr inspect` (sim/inspect/inspect.h) and `hsr report`:
//   tau     the docs/design.md §1 certificate: S = the k top-scoring keys, tau = the (k+1)-th score,
//           eps = r e^(tau - M) / (Z_S + r e^(tau - M))
//   sketch  the per-key-bound certificate (core/hsr/softmax_cert.h): S = the k keys with the
//           largest sketch8 bounds ub_j, eps = D / (Z_S + D), D = sum of e^(ub_j - M) off S
//   engine  what hsr-cpu's err=E path actually reads (SelectBySketch: bucketed bounds, two
//           recheck rounds); the visible count when it would fall back to dense
//   true    the smallest k whose top-k keys by exact score hold >= 1 - E of the softmax mass
// Each is the smallest k meeting eps <= E (scanning k upward). Exact scores in float64.
// Test: verify/tests/cert_props.cc (the true minimum never exceeds the other three).
#pragma once

#include <cstddef>
#include <span>

namespace hsr {
class Sketch8Index;
}

namespace hsr::verify {

struct KeysNeeded {
  size_t tau = 0, sketch = 0, engine = 0, truth = 0, visible = 0;
};

// exact: float64 scaled scores of the visible keys [0, visible) of query q against index's
// keys (the index holds K, built with the same scale). E in (0, 1).
KeysNeeded KeysForError(const Sketch8Index& index, std::span<const float> q,
                        std::span<const double> exact, double target);

}  // namespace hsr::verify
