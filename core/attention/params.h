// Attention semantics (docs/design.md §1): what every backend computes.
//
//   score      s_ij = scale * <q_i, k_j>, scale defaults to 1/sqrt(d)
//   softmax    o_i = sum_j softmax_j(s_ij) v_j
//   relu       w_ij = (s_ij - b)^alpha where s_ij > b, else 0;  o_i = sum_j w_ij v_j / sum_j w_ij
//              (a row with no positive weight outputs zeros and counts in empty_rows)
//   causal     query i (of m) sees keys j <= i + (n - m), bottom-right aligned
//   GQA        query head h reads kv head h / (Hq / Hkv)
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace hsr {

enum class AttentionKind { kSoftmax, kRelu };

std::string_view ToString(AttentionKind kind);
// Parses "softmax" or "relu"; throws hsr::Error otherwise.
AttentionKind ParseAttentionKind(std::string_view name);

struct AttentionParams {
  AttentionKind kind = AttentionKind::kSoftmax;
  int alpha = 1;                     // ReLU exponent, integer >= 1 (relu only)
  float b = 0.0f;                    // ReLU threshold on the scaled score (relu only)
  std::span<const float> b_per_query;  // optional, size Hq * m, index h * m + i; overrides b
  std::optional<float> scale;        // finite and > 0; default 1/sqrt(d)
  bool causal = false;               // bottom-right aligned mask, Decode and Prefill

  float ScaleFor(size_t d) const {
    return scale ? *scale : static_cast<float>(1.0 / std::sqrt(static_cast<double>(d)));
  }
  float ThresholdFor(size_t q_head, size_t m, size_t i) const {
    return b_per_query.empty() ? b : b_per_query[q_head * m + i];
  }
};

// Number of keys query i (of m) sees among n.
inline size_t VisibleKeys(bool causal, size_t i, size_t m, size_t n) {
  if (!causal) return n;
  // j <= i + n - m  <=>  count = i + n - m + 1, clamped to [0, n].
  const int64_t count = static_cast<int64_t>(i) + static_cast<int64_t>(n) -
                        static_cast<int64_t>(m) + 1;
  if (count <= 0) return 0;
  return static_cast<size_t>(count) < n ? static_cast<size_t>(count) : n;
}

// Per-call counters, merged by the caller (never global).
struct AttentionStats {
  uint64_t queries = 0;      // query rows processed (over all heads)
  uint64_t keys_scored = 0;  // inner products computed
  uint64_t empty_rows = 0;   // rows with no visible key or no positive ReLU weight
  uint64_t fallbacks = 0;    // HSR rows answered densely (always 0 for dense backends)

  void Merge(const AttentionStats& o) {
    queries += o.queries;
    keys_scored += o.keys_scored;
    empty_rows += o.empty_rows;
    fallbacks += o.fallbacks;
  }
};

}  // namespace hsr
