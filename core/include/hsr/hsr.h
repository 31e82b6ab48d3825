// hsr: HSR-enhanced sparse attention (half-space reporting), the public C++ API.
//
//   #include <hsr/hsr.h>        CMake: find_package(hsr) and link hsr::core
//
// Three entry points over float32 arrays the caller owns:
//   DecodeSession   generation decoding. Built once from K and V (copied), with one exact
//                   half-space index per kv head. Append(k, v) adds a generated token's key and
//                   value (the index is extended, not rebuilt, and stays exact); Decode(q)
//                   answers query rows against every key so far.
//   Prefill         prompt prefilling in one call, causal or not; nothing is kept.
//   DenseReference  the same attention computed densely in float64, for comparing.
//
// Sizes use the paper's names: n keys, m query rows per head, d the key (and query) dimension,
// dv the value dimension, kv_heads key/value heads and heads query heads, a multiple of kv_heads
// (grouped-query attention: query head h reads kv head h / (heads / kv_heads)). Arrays are
// row-major and contiguous:
//   K [kv_heads, n, d]    V [kv_heads, n, dv]    Q [heads, m, d]    out [heads, m, dv]
// element (h, i, c) of an [H, R, C] array at data[(h * R + i) * C + c].
//
// What is computed, with scores s_ij = scale <q_i, k_j> (scale 1/sqrt(d) unless Options::scale):
//   relu     o_i = sum_j w_ij v_j / sum_j w_ij,  w_ij = (s_ij - b_i)^alpha over the keys with
//            s_ij > b_i. The index reports exactly those keys (the float32 score decides), so
//            this is dense ReLU^alpha attention up to float32 rounding. A row with no key above
//            b_i is zeros (an empty row).
//   softmax  o_i = softmax of s_ij over the reported keys S_i = {j : s_ij > tau_i} only. The
//            row's certificate eps_i bounds the softmax mass of the keys outside S_i, so
//            |o_i - dense o_i| <= 2 eps_i max_j |v_j| (plus float32 rounding). A row whose S_i
//            is empty, or that needs too many keys for err=E, is computed densely (a fallback,
//            eps_i = 0).
// The threshold b_i (relu) or tau_i (softmax) of each query row comes from Options::threshold:
//   "b=VALUE"  fixed, on the scaled score
//   "paper"    mu + sigma sqrt(0.4 ln n): mu, sigma of the row's scores over 1024 keys drawn
//              from a seeded stream (all keys when n <= 1024)
//   "count=K"  about K keys above (K <= n);   "frac=F"  about F n keys above, F in (0, 1]
//   "err=E"    softmax only: tau_i lowered until eps_i <= E, E in (0, 1)
// Causal (Prefill): row i of m sees keys j <= i + n - m (bottom-right aligned: the last row sees
// all n keys); thresholds and certificates are over the keys a row sees.
//
// Errors: every call checks its input before any work and throws hsr::Error with a one-line
// message ("what: expected X, got Y"); a rejected call writes no output and leaves a session
// unchanged. A session is not thread-safe; each call itself uses Options::threads threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <hsr/error.h>

namespace hsr {

enum class Attention { kSoftmax, kRelu };

struct Options {
  Attention attention = Attention::kSoftmax;
  int alpha = 1;                    // relu exponent, an integer in [1, 16]
  std::string threshold = "paper";  // threshold policy (see above)
  std::optional<float> scale;       // score scale, finite and > 0; default 1/sqrt(d)
  std::string index = "sketch8";    // half-space index: sketch8, scan, lowrank or balltree
  size_t threads = 1;               // threads per call, >= 1
};

// A read-only row-major float32 array [heads, rows, cols] owned by the caller (a view: nothing
// is copied or freed through it). Element (h, r, c) at data[(h * rows + r) * cols + c].
struct ConstArray3 {
  const float* data = nullptr;
  size_t heads = 0, rows = 0, cols = 0;
};

// A writable one, same layout.
struct Array3 {
  float* data = nullptr;
  size_t heads = 0, rows = 0, cols = 0;
};

// One query row of one call.
struct RowStats {
  float threshold = 0.0f;   // b_i (relu) or the final tau_i (softmax)
  uint32_t visible = 0;     // keys the row sees: n, or its causal count
  uint32_t reported = 0;    // keys above the threshold, |S_i| (visible for a fallback)
  uint64_t candidates = 0;  // keys the index rechecked with the exact float32 score
  uint64_t bytes = 0;       // bytes read: index, threshold sample, rescored K rows, V rows used
  double eps = 0.0;         // softmax certificate eps_i (0 for relu and for fallbacks)
  bool empty = false;       // the output row is zeros
  bool fallback = false;    // computed densely
};

// One call.
struct Stats {
  std::vector<RowStats> rows;  // heads * m: row i of query head h at h * m + i
  uint64_t reported = 0, candidates = 0, bytes = 0;  // sums over the rows
  uint64_t fallbacks = 0, empty_rows = 0;            // rows that were fallbacks / empty
  double max_eps = 0.0;        // largest eps_i (softmax)
  std::string threshold;       // the policy, e.g. "paper", "b=0.5"
  std::string reporter;        // what reported the keys: the index, or "batch-report" (Prefill)
};

class DecodeSession {
 public:
  // k [kv_heads, n, d] and v [kv_heads, n, dv] with the same kv_heads >= 1 and n (n = 0 too:
  // a cache that Append fills), finite values; both are copied (the caller's arrays may change
  // or go away afterwards). Builds one index per kv head.
  DecodeSession(ConstArray3 k, ConstArray3 v, const Options& options = {});
  ~DecodeSession();
  DecodeSession(DecodeSession&&) noexcept;
  DecodeSession& operator=(DecodeSession&&) noexcept;

  // One generated token: its key per kv head, k [kv_heads, d] (kv_heads * d floats), and its
  // value per kv head, v [kv_heads, dv]. n grows by one; the indexes stay exact.
  void Append(std::span<const float> k, std::span<const float> v);
  // q [heads, m, d] (heads a multiple of kv_heads) -> out [heads, m, dv]; every row sees all n
  // keys.
  Stats Decode(ConstArray3 q, Array3 out);

  size_t kv_heads() const;
  size_t n() const;
  size_t d() const;
  size_t dv() const;
  const Options& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  friend struct SessionAccess;  // the library's tests
};

// q [heads, m, d], k [kv_heads, n, d], v [kv_heads, n, dv] -> out [heads, m, dv]; causal as
// above. Whatever index it needs is built inside the call.
Stats Prefill(ConstArray3 q, ConstArray3 k, ConstArray3 v, bool causal, const Options& options,
              Array3 out);

// The dense float64 reference of the same call: [heads, m, dv] doubles, same layout as out.
// Relu thresholds come from options.threshold exactly as a session's or Prefill's (the same
// seeded sample and float32 scores), so the outputs compare element by element; softmax is
// over every visible key. options.index and options.threads are not used. Single-threaded and
// slow (O(heads m n (d + dv)) float64 operations).
std::vector<double> DenseReference(ConstArray3 q, ConstArray3 k, ConstArray3 v, bool causal,
                                   const Options& options);

}  // namespace hsr
