// KeyStore: the float32 copy of K every index owns (n x d, row-major, dense), with the
// boundary validation shared by all indexes and the rounding constants of the bound proofs.
// Used by scan.cc, sketch8.cc, lowrank.cc, balltree.cc.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string_view>
#include <vector>

#include "core/tensor/view.h"

namespace hsr::index_detail {

// The used bytes of v, for HalfSpaceIndex::Buffers.
template <class T>
std::span<const std::byte> BytesOf(const std::vector<T>& v) {
  return std::as_bytes(std::span<const T>(v));
}

// Unit roundoff of float32 and the smallest positive (subnormal) float.
inline constexpr double kU = 0x1p-24;
inline constexpr double kEta = 0x1p-149;

// gamma_k = k u / (1 - k u): |fl(sum) - sum| <= gamma_h * sum |terms| for any summation order
// in which each term passes through at most h roundings (Higham, Accuracy and Stability, 3.1).
inline double Gamma(double k) { return k * kU / (1.0 - k * kU); }

// Bound on |ScoreRun(q, k) - scale <q, k>| for finite inputs without overflow
// (||q|| ||k|| max(1, scale) < kOverflowGuard):
//   every product and partial sum of DotOne passes through at most h = d + 32 roundings
//   (d / (2N) FMA chain + 1 add + log2 N SumOfLanes levels + < N tail steps <= d, plus slack);
//   so |fl(dot) - dot| <= gamma_h sum_c |q_c k_c| + h eta <= gamma_h ||q|| ||k|| + h eta;
//   the multiply by scale adds u |scale fl(dot)| + eta. Hence
//   |s_f32 - scale <q,k>| <= scale ||q|| ||k|| (gamma_h (1 + u) + u (1 + gamma_h)) + (scale h + 1) eta
//                         <= ScoreRelErr(d) * scale ||q|| ||k|| + ScoreAbsErr(d, scale).
// Both are doubled as margin.
inline double ScoreRelErr(size_t d) {
  const double g = Gamma(static_cast<double>(d) + 32.0);
  return 2.0 * (g * (1.0 + kU) + kU * (1.0 + g));
}
inline double ScoreAbsErr(size_t d, double scale) {
  return 2.0 * (std::max(1.0, scale) * (static_cast<double>(d) + 34.0) + 1.0) * kEta;
}
// Above this value of ||q|| ||k|| max(1, scale) a float32 partial sum may overflow (to +Inf
// even when the exact score is small), so no bound is trusted: every key is a candidate.
inline constexpr double kOverflowGuard = 0x1p120;

// Smallest float >= x (x finite double, or +Inf).
inline float RoundUp(double x) {
  if (!(x <= 3.4028234663852886e38)) return std::numeric_limits<float>::infinity();
  float f = static_cast<float>(x);
  if (static_cast<double>(f) < x) f = std::nextafter(f, std::numeric_limits<float>::infinity());
  return f;
}

// An index's UpperBounds(q) (n keys): +Inf for every key when its bounds are not trusted for q;
// otherwise bounds(ub) fills ub[j] (float, without the score's rounding) and key j gets
// ub[j] + tiny, or +Inf where ub[j] is NaN (a corrupted bound never excludes a key).
template <class Bounds>
std::vector<double> UpperBoundsOf(size_t n, bool trusted, double tiny, Bounds&& bounds) {
  std::vector<double> out(n, std::numeric_limits<double>::infinity());
  if (!trusted) return out;
  std::vector<float> ub(n);
  bounds(ub.data());
  for (size_t j = 0; j < n; ++j) {
    out[j] = std::isnan(ub[j]) ? std::numeric_limits<double>::infinity() : ub[j] + tiny;
  }
  return out;
}

// ||x||_2 in double.
inline double Norm(const float* x, size_t d) {
  double s = 0.0;
  for (size_t c = 0; c < d; ++c) s += static_cast<double>(x[c]) * x[c];
  return std::sqrt(s);
}
// Norm rounded up by far more than its double rounding error (relative d 2^-53).
inline double NormUp(const float* x, size_t d) { return Norm(x, d) * (1.0 + 0x1p-30); }

// The float32 keys as an index's per-target kernels read them (the base of each index's
// Layout): n rows of d floats, stride d, and the score scale.
struct KeyRows {
  size_t n = 0, d = 0;
  const float* keys = nullptr;  // n x d (float32)
  float scale = 1.0f;
};

class KeyStore {
 public:
  size_t n() const { return n_; }
  size_t d() const { return d_; }
  float scale() const { return scale_; }
  bool built() const { return d_ != 0; }
  const float* Row(size_t j) const { return keys_.data() + j * d_; }
  const float* data() const { return keys_.data(); }
  double max_norm() const { return max_norm_; }  // max_j ||k_j|| rounded up (0 if n = 0)
  size_t Bytes() const { return keys_.capacity() * sizeof(float); }
  std::span<const std::byte> Buffer() const { return BytesOf(keys_); }  // the n x d floats
  KeyRows Rows() const { return {n_, d_, keys_.data(), scale_}; }
  // The absolute slack a bound-based index adds to every per-key bound: ScoreAbsErr plus 2^-100.
  double BoundTiny() const { return ScoreAbsErr(d_, scale_) + 0x1p-100; }

  // Validates (see ValidateBuild) and copies keys.
  void Assign(std::string_view where, ConstMatrixView keys, float scale);
  // Validates key (see ValidateInsert) and appends it; returns its id.
  uint32_t Append(std::string_view where, std::span<const float> key);

  // Throws hsr::Error unless d >= 1, n < 2^32 - 1, every key finite, scale finite and > 0.
  static void ValidateBuild(std::string_view where, ConstMatrixView keys, float scale);
  // Throws unless built, key.size() == d, key finite, n + 1 < 2^32.
  void ValidateInsert(std::string_view where, std::span<const float> key) const;
  // Throws unless built, q.size() == d, q finite, b not NaN.
  void ValidateQuery(std::string_view where, std::span<const float> q, float b) const;
  // Throws unless q.cols == d, b.size() == q.rows, every q finite, no b NaN.
  void ValidateBatch(std::string_view where, ConstMatrixView q, std::span<const float> b) const;

  // True when the bounds of this query may be trusted (no overflow possible; see above).
  bool BoundsTrusted(double q_norm) const {
    return q_norm * max_norm_ * std::max(1.0, static_cast<double>(scale_)) < kOverflowGuard;
  }

 private:
  std::vector<float> keys_;
  size_t n_ = 0, d_ = 0;
  float scale_ = 1.0f;
  double max_norm_ = 0.0;
};

}  // namespace hsr::index_detail
