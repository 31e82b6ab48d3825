#include "core/index/key_store.h"

#include <algorithm>
#include <cmath>

#include "core/base/error.h"
#include "core/base/huge_pages.h"

namespace hsr::index_detail {
namespace {

// Index of the first non-finite value in x[0, count), or count.
size_t FirstNonFinite(const float* x, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    if (!std::isfinite(x[i])) return i;
  }
  return count;
}

}  // namespace

void KeyStore::ValidateBuild(std::string_view where, ConstMatrixView keys, float scale) {
  HSR_CHECK(keys.cols >= 1, "{}: expected keys with d >= 1, got d=0", where);
  HSR_CHECK(keys.rows < 0xFFFFFFFFull, "{}: expected n < 2^32 - 1 keys, got n={}", where,
            keys.rows);
  HSR_CHECK(keys.rows == 0 || keys.stride >= keys.cols,
            "{}: expected key stride >= d={}, got stride={}", where, keys.cols, keys.stride);
  HSR_CHECK(std::isfinite(scale) && scale > 0.0f, "{}: expected a finite scale > 0, got {}",
            where, scale);
  for (size_t j = 0; j < keys.rows; ++j) {
    const size_t c = FirstNonFinite(keys.Row(j), keys.cols);
    HSR_CHECK(c == keys.cols, "{}: expected finite keys, got {} at key {} coordinate {}", where,
              keys.Row(j)[c], j, c);
  }
}

void KeyStore::Assign(std::string_view where, ConstMatrixView keys, float scale) {
  ValidateBuild(where, keys, scale);
  std::vector<float> copy;
  copy.reserve(keys.rows * keys.cols);
  AdviseHugePages(copy.data(), keys.rows * keys.cols * sizeof(float));  // before the first write
  double max_norm = 0.0;
  for (size_t j = 0; j < keys.rows; ++j) {
    copy.insert(copy.end(), keys.Row(j), keys.Row(j) + keys.cols);
    max_norm = std::max(max_norm, NormUp(keys.Row(j), keys.cols));
  }
  keys_.swap(copy);
  n_ = keys.rows;
  d_ = keys.cols;
  scale_ = scale;
  max_norm_ = max_norm;
}

void KeyStore::ValidateInsert(std::string_view where, std::span<const float> key) const {
  HSR_CHECK(built(), "{}: expected Build before Insert, got an index that was never built",
            where);
  HSR_CHECK(key.size() == d_, "{}: expected a key with d={} (index), got d={}", where, d_,
            key.size());
  HSR_CHECK(n_ + 1 < 0xFFFFFFFFull, "{}: expected fewer than 2^32 - 1 keys, got n={}", where,
            n_);
  const size_t c = FirstNonFinite(key.data(), key.size());
  HSR_CHECK(c == key.size(), "{}: expected a finite key, got {} at coordinate {}", where,
            c < key.size() ? key[c] : 0.0f, c);
}

uint32_t KeyStore::Append(std::string_view where, std::span<const float> key) {
  ValidateInsert(where, key);
  keys_.insert(keys_.end(), key.begin(), key.end());
  max_norm_ = std::max(max_norm_, NormUp(key.data(), d_));
  return static_cast<uint32_t>(n_++);
}

void KeyStore::ValidateQuery(std::string_view where, std::span<const float> q, float b) const {
  HSR_CHECK(built(), "{}: expected Build before Query, got an index that was never built",
            where);
  HSR_CHECK(q.size() == d_, "{}: expected q with d={} (index), got d={}", where, d_, q.size());
  HSR_CHECK(!std::isnan(b), "{}: expected a threshold b that is not NaN, got NaN", where);
  const size_t c = FirstNonFinite(q.data(), q.size());
  HSR_CHECK(c == q.size(), "{}: expected a finite q, got {} at coordinate {}", where,
            c < q.size() ? q[c] : 0.0f, c);
}

void KeyStore::ValidateBatch(std::string_view where, ConstMatrixView q,
                             std::span<const float> b) const {
  HSR_CHECK(built(), "{}: expected Build before Query, got an index that was never built",
            where);
  HSR_CHECK(q.rows == 0 || q.cols == d_, "{}: expected queries with d={} (index), got d={}",
            where, d_, q.cols);
  HSR_CHECK(b.size() == q.rows, "{}: expected one threshold per query ({}), got {}", where,
            q.rows, b.size());
  HSR_CHECK(q.rows == 0 || q.stride >= q.cols, "{}: expected query stride >= d={}, got {}",
            where, q.cols, q.stride);
  for (size_t i = 0; i < q.rows; ++i) {
    HSR_CHECK(!std::isnan(b[i]), "{}: expected thresholds that are not NaN, got NaN at query {}",
              where, i);
    const size_t c = FirstNonFinite(q.Row(i), q.cols);
    HSR_CHECK(c == q.cols, "{}: expected finite queries, got {} at query {} coordinate {}", where,
              q.Row(i)[c], i, c);
  }
}

}  // namespace hsr::index_detail
