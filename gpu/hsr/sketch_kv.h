// SketchKv: the certified int8 sketch of a KvCache's K for hsr-cuda-sketch*, built on the host
// by core's Sketch8Index (codes k8_j, scale a_j, slack w_j: the SAME quantisation as the CPU
// index, read through Sketch8Index::SketchLayout) over K rounded through the storage type (the
// values the device scores), one index per kv head, uploaded once as
//   codes [Hkv, n, d_pad] int8 (Sketch8Index::CopyCodeRows: the index's codes, row-major),
//   a [Hkv, n], w [Hkv, n] float   (d_pad = sketch::CodeRowPad(d) = roundup(d, 32)).
// Per call, every query row h * m + i is quantised by its kv head's index
// (Sketch8Index::QuantiseQuery) and handed to the kernel as q16 split into hi / lo byte rows
// (sketch_code.h) plus T, Qn, b_eff = the largest float <= b - tiny (-Inf for a row whose
// bounds are not trusted: every key is then a candidate) and the integer offset D, so the
// kernel's int32 <q16, k8_j> + D is sketch8's I_j and its bound sketch8's, bit for bit.
//
// Why sketch8's w_j and tiny also cover the GPU recheck score (decode_common.cuh ScoreRows):
//   sketch8.cc proves fl(ub_j) + tiny >= s for any score s with
//     |s - scale <q, k_j>| <= ScoreRelErr(d) scale ||q|| ||k_j|| + ScoreAbsErr(d, scale),
//   and key_store.h derives that error model from two facts about ScoreRun: every product
//   q_c k_jc passes through at most h = d + 32 roundings before the final multiply by scale
//   (giving gamma_h), and at most d + 34 operations can each lose up to eta = 2^-149 to
//   underflow. The GPU score (ScoreRows, then s = scale * dot) satisfies both:
//   - a product is rounded once by the FMA that adds it, then by each later FMA of the lane's
//     chain (4 per 128-column step: <= 4 ceil(dk_pad / 128) in all) and by the 5 butterfly
//     additions: GpuScoreRoundings(dk_pad) = 4 ceil(dk_pad / 128) + 5 <= d / 32 + 10 <= d + 32
//     (dk_pad <= d + 3; checked at run time and over d in [1, 1024] by the host test);
//   - additions of floats never lose to underflow (a subnormal sum is exact), FMAs with a zero
//     (padding) product are exact, so at most d FMAs lose <= eta each, plus the scale multiply.
//   The GPU reads the same float32 q and the same float32 key values (the rounded K the sketch
//   was built from, converted exactly from f16/bf16), so the same bound holds for its score s:
//   s > b implies fl(ub_j) > b - tiny >= b_eff, i.e. j is a candidate. The candidate's exact
//   recheck is ScoreRows itself (bitwise the scan's score), so hsr-cuda-sketch reports exactly
//   hsr-cuda's set. ub_j is evaluated in sketch8's order (sketch_code.h SketchBound), so the
//   proof's rounding count for the bound itself (gamma_4) applies unchanged.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <tuple>
#include <vector>

#include "core/attention/kv_cache.h"
#include "core/attention/params.h"
#include "core/index/sketch8.h"
#include "core/tensor/view.h"
#include "gpu/base/device_buffer.h"
#include "gpu/base/kv_dtype.h"

namespace hsr::gpu {

// One Sketch8Index per kv head over K rounded through t (threads: build threads, 0 = all cores).
std::vector<std::unique_ptr<Sketch8Index>> BuildSketchIndexes(std::string_view where,
                                                              const KvCache& kv, KvDtype t,
                                                              float scale, size_t threads);

// The arrays the device receives, concatenated over kv heads.
struct SketchArrays {
  size_t heads = 0, n = 0, d = 0, d_pad = 0;
  std::vector<int8_t> codes;  // [heads, n, d_pad]
  std::vector<float> a, w;    // [heads, n]
};
SketchArrays PackSketch(const std::vector<std::unique_ptr<Sketch8Index>>& heads);

// Per-call query rows (row h * m + i quantised by kv head h / (Hq / Hkv)).
struct SketchQueries {
  size_t rows = 0, d_pad = 0;
  std::vector<uint8_t> qhi, qlo;  // [rows, d_pad]: hi as int8 bits, lo unsigned (SplitQ16)
  std::vector<float> params;      // [4, rows]: T, Qn, b_eff, D (an integer < 2^24, exact)
  size_t untrusted_rows = 0;      // rows with b_eff = -Inf (every key a candidate)
  float T(size_t r) const { return params[r]; }
  float Qn(size_t r) const { return params[rows + r]; }
  float b_eff(size_t r) const { return params[2 * rows + r]; }
  float D(size_t r) const { return params[3 * rows + r]; }
};
SketchQueries QuantiseRows(const std::vector<std::unique_ptr<Sketch8Index>>& heads,
                           ConstHeadsView q, const AttentionParams& p);

// Largest float <= x (x finite or +-Inf).
float RoundDownToFloat(double x);

// Host emulation of the device filter for kv head g and query row r (tests): the keys the
// kernel makes candidates, in key order, and optionally every key's int32 dot and bound.
std::vector<uint32_t> HostSketchCandidates(const SketchArrays& s, const SketchQueries& q,
                                           size_t g, size_t r, std::vector<int32_t>* dots,
                                           std::vector<float>* bounds);

// The host indexes (for QuantiseRows) and the device copy of their arrays.
class SketchKv {
 public:
  // Builds (BuildSketchIndexes) and uploads. Throws hsr::Error (naming where) on bad input.
  SketchKv(std::string_view where, const KvCache& kv, KvDtype t, float scale);

  bool Matches(const KvCache& kv, KvDtype t, float scale) const { return key_ == KeyOf(kv, t, scale); }
  const std::vector<std::unique_ptr<Sketch8Index>>& indexes() const { return indexes_; }
  size_t d_pad() const { return d_pad_; }
  const int8_t* codes() const { return codes_.as<int8_t>(); }
  const float* a() const { return a_.as<float>(); }
  const float* w() const { return w_.as<float>(); }
  double build_us() const { return build_us_; }

 private:
  using Key = std::tuple<const float*, size_t, size_t, size_t, size_t, size_t, int, float>;
  static Key KeyOf(const KvCache& kv, KvDtype t, float scale);

  Key key_;
  std::vector<std::unique_ptr<Sketch8Index>> indexes_;
  size_t d_pad_ = 0;
  DeviceBuffer codes_, a_, w_;
  double build_us_ = 0.0;
};

}  // namespace hsr::gpu
