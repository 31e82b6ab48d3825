// KvCache: a validated, non-owning view of keys K [Hkv, n, d] and values V [Hkv, n, dv].
//
// Construction checks shapes and finiteness once (O(n d) reads), so the decode hot path
// only validates the query. The data must outlive the KvCache and stay unchanged.
//
// Identity: every construction makes a new one, which copies and assignments share. State a
// backend derives from the data (HsrCpuBackend's indexes) is bound to it, so a KvCache made
// anew over memory with new contents, even at the same address and shape, never meets state
// derived from the old contents: after changing the data, construct a new KvCache.
#pragma once

#include <cstddef>
#include <memory>

#include "core/tensor/view.h"

namespace hsr {

class KvCache {
 public:
  KvCache() = default;
  // Throws hsr::Error on: heads mismatch, n mismatch, d == 0, dv == 0, NaN/Inf, stride < cols.
  KvCache(ConstHeadsView k, ConstHeadsView v);

  const ConstHeadsView& k() const { return k_; }
  const ConstHeadsView& v() const { return v_; }
  size_t heads() const { return k_.heads; }
  size_t n() const { return k_.rows; }
  size_t d() const { return k_.cols; }
  size_t dv() const { return v_.cols; }
  float max_abs_k() const { return max_abs_k_; }  // used to rule out float overflow in scores
  // Null for a default-constructed cache. Hold it weakly (std::weak_ptr) to learn when the last
  // copy of this cache is gone.
  const std::shared_ptr<const void>& identity() const { return identity_; }

 private:
  ConstHeadsView k_, v_;
  float max_abs_k_ = 0.0f;
  std::shared_ptr<const void> identity_;
};

}  // namespace hsr
