// sketch8: certified int8 filter + exact recheck (docs/design.md §2, "Bytes").
//
// Layout: per key j its d int8 codes k8_j in the blocked u8 layout of core/index/key_code.h
// (16 keys x 4 dims per 64-byte line, 4 ceil(d / 4) bytes per key), its scale
// a_j = s_j = max_c |k_jc| / 127 and one slack coefficient w_j (floats, separate arrays), plus
// the float32 keys for the recheck. A query reads n (4 ceil(d / 4) + 8) bytes plus 4 d per
// candidate: ~1/4 of scan's 4 n d at d = 128.
//
// Bound (proof in sketch8.cc): q is quantised per query to 13-bit integers with a power of two
// step t (q = t q16 + e, |q16_c| <= Qmax <= 8191); the key is k = s_j k8_j + r_j. With
// I_j = <q16, k8_j> + D computed exactly (key_code-inl.h: vpdpbusd / vpmaddubsw / portable) and
// D = ceil(127 ||e||_1 / t) the query's own quantisation error,
//   ScoreRun(q, k_j) <= fl(fl(T a_j) fl(I_j) + fl(Qn w_j)) + tiny   (T = scale t, Qn >= scale ||q||)
// where w_j covers ||r_j||, ScoreRun's own rounding (ScoreRelErr ||k_j||) and the rounding of
// the bound's float evaluation. Keys with a bound above b are rechecked with ScoreRun, so the
// report is exactly scan's.
// Insert: O(d) amortised (append a key's codes and two floats). Test: verify/tests/index_props.cc.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/index/half_space_index.h"
#include "core/index/key_code.h"
#include "core/index/key_store.h"

namespace hsr {

class ThreadPool;

class Sketch8Index : public HalfSpaceIndex {
 public:
  explicit Sketch8Index(size_t threads = 1);
  ~Sketch8Index() override;

  void Build(ConstMatrixView keys, float scale) override;
  uint32_t Insert(std::span<const float> key) override;
  void Query(std::span<const float> q, float b, std::vector<uint32_t>* ids,
             IndexStats* st) const override;
  // Softmax tail and per-key bounds (proofs in sketch8.cc): one pass over the sketch.
  bool QueryPrefixTail(std::span<const float> q, float b, size_t visible,
                       std::vector<uint32_t>* ids, IndexStats* st, double* tail,
                       std::vector<float>* scores = nullptr) const override;
  bool KeyBounds(std::span<const float> q, size_t visible, float* ub, float* max, double* tiny,
                 IndexStats* st) const override;
  // Batched prefix reports (the prefill screen, core/hsr/prefill_engine.h, and a decode
  // engine's rows that share a kv head, decode_engine.h): query i of q (m x d) gets
  // { j < limits[i] : ScoreRun(q_i, k_j) > b[i] }, ascending — exactly Query restricted to the
  // prefix. Each query is quantised and bounded as in Query, with the same candidates; the loop
  // order differs: tasks of kBatchRows queries x kBatchKeyPart keys (over pool, may be null)
  // in which the queries take turns on each 128-key tile of codes while it sits in L1/L2, so the
  // codes stream once per task, not once per query; candidates are rechecked with ScoreRun. Out,
  // row_candidates and scores as BatchReport's (batch_report.h); returns the candidates. tails
  // (may be null): per query the softmax tail QueryPrefixTail would give (>= sum over the
  // unreported keys j < limits[i] of e^(s_j - b[i]); same proof, the non-candidates' terms
  // summed per tile), or -1 where the query's bounds are not trusted (every key a candidate).
  // Results do not depend on the pool's size. Throws hsr::Error on inconsistent shapes or
  // limits, or a NaN bound.
  uint64_t ReportPrefixBatch(ConstMatrixView q, std::span<const float> b,
                             std::span<const uint32_t> limits, ThreadPool* pool,
                             ReportBatch* out, std::vector<uint64_t>* row_candidates = nullptr,
                             std::vector<float>* scores = nullptr,
                             std::vector<double>* tails = nullptr) const;
  // Queries of one ReportPrefixBatch task, sharing each pass over the codes: a 128-key tile
  // (16 KiB of codes and 64 KiB of float32 rows at d = 128) serves each in turn, so codes and
  // recheck rows stream once per 256 rows.
  static constexpr size_t kBatchRows = 256;
  // Keys of one ReportPrefixBatch task (as the decode filter's per-thread range): a few rows
  // over many keys still spread over the pool.
  static constexpr size_t kBatchKeyPart = 16384;
  // Key parts of a ReportPrefixBatch whose longest prefix is `keys` (at least 1), and its tasks
  // for m queries (row blocks x key parts): what a caller splitting work over threads plans by.
  static size_t BatchKeyParts(size_t keys) {
    return keys == 0 ? 1 : (keys + kBatchKeyPart - 1) / kBatchKeyPart;
  }
  static size_t BatchTasks(size_t m, size_t keys) {
    return (m + kBatchRows - 1) / kBatchRows * BatchKeyParts(keys);
  }
  // Bytes of codes and bounds the filter reads per key (4 ceil(d / 4) + 8).
  size_t BoundBytesPerKey() const { return 4 * codes_.groups() + 2 * sizeof(float); }
  // The float32 keys (n x d, row-major) and score scale the index was built with.
  const float* KeyData() const { return keys_.data(); }
  float Scale() const { return keys_.scale(); }
  // Test hook: overwrites key j's slack coefficient (e.g. NaN, to model a corrupted sketch).
  void CorruptSlackForTest(size_t j, float w);
  // Test hook: the softmax tail's per-key bound on e^x (sketch8.cc ExpUpper) on the dispatched
  // target, for each x.
  static std::vector<float> ExpUpperForTest(std::span<const float> x);
  std::string_view Name() const override { return "sketch8"; }
  size_t MemoryBytes() const override;
  std::vector<std::span<const std::byte>> Buffers() const override {
    using index_detail::BytesOf;
    return {keys_.Buffer(), codes_.Buffer(), BytesOf(a_), BytesOf(w_)};
  }
  size_t size() const override { return keys_.n(); }
  size_t dim() const override { return keys_.d(); }

  // Debug/test: for every key, the value the filter compares against b (its certified upper
  // bound on ScoreRun(q, k_j), tiny absolute slack included); +Inf where bounds are not trusted.
  std::vector<double> UpperBounds(std::span<const float> q) const;

  // Per-query quantisation of q (public for the per-target kernel and the GPU stage).
  struct QueryCode {
    // q16 (words.q, |q16_c| <= Qmax), split for the kernels, with extra = D (sketch8.cc).
    index_detail::QueryWords words;
    float T = 0.0f;            // scale * t, exact
    float Qn = 0.0f;           // >= scale ||q||
    double tiny = 0.0;         // absolute slack (underflow)
    bool trusted = false;      // false: every key is a candidate
  };
  // Per-range results of the filter pass.
  struct RangeOut {
    uint64_t candidates = 0;
    double tail = 0.0;     // sum over non-candidates of Exp(max(ub - b, -80)) (when asked)
    int64_t nan_key = -1;  // first key with a NaN bound, -1 if none
  };
  struct Layout : index_detail::KeyRows {
    index_detail::CodeBlocks codes;  // n keys, blocked (key_code.h)
    const float* a = nullptr;        // n
    const float* w = nullptr;        // n
  };
  // Read-only access for the GPU sketch stage (gpu/hsr/sketch_kv.h), which uploads a, w and the
  // codes as row-major int8 (CopyCodeRows) and quantises each query by this same code (no
  // second copy of the quantisation): its int32 <q16, k8_j> + D is this index's I_j.
  Layout SketchLayout() const { return GetLayout(); }
  QueryCode QuantiseQuery(std::span<const float> q) const { return Quantise(q); }
  // The codes k8 as n rows of `stride` >= d int8 (row-major, columns d .. stride - 1 zero).
  void CopyCodeRows(size_t stride, int8_t* out) const { codes_.CopyRows(stride, out); }

 private:
  void AppendRow(const float* key);
  bool Run(std::span<const float> q, float b, size_t visible, std::vector<uint32_t>* ids,
           IndexStats* st, double* tail, std::vector<float>* scores) const;
  QueryCode Quantise(std::span<const float> q) const;
  // Quantise into qc, reusing its buffers; with_line as EncodeQuery's.
  void QuantiseInto(std::span<const float> q, QueryCode* qc, bool with_line = true) const;
  Layout GetLayout() const;

  index_detail::KeyStore keys_;
  int32_t qmax_ = 0;
  double delta_ = 0.0;
  index_detail::KeyCodes codes_;
  std::vector<int8_t> code_row_;  // AppendRow's scratch
  std::vector<float> a_, w_;
  std::unique_ptr<ThreadPool> pool_;
};

}  // namespace hsr
