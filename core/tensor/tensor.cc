#include "core/tensor/tensor.h"

#include <limits>
#include <new>

#include "core/base/error.h"

namespace hsr {

Tensor::Tensor(size_t heads, size_t rows, size_t cols)
    : heads_(heads), rows_(rows), cols_(cols) {
  const size_t kMax = std::numeric_limits<size_t>::max() / sizeof(float);
  HSR_CHECK(rows == 0 || cols == 0 || heads <= kMax / rows / cols,
            "Tensor: expected a size that fits in memory, got [{}, {}, {}]", heads, rows, cols);
  const size_t bytes = size() * sizeof(float);
  if (bytes == 0) return;
  const size_t rounded = (bytes + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded);
  if (p == nullptr) throw std::bad_alloc();
  data_.reset(static_cast<float*>(p));
}

}  // namespace hsr
