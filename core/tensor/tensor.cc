#include "core/tensor/tensor.h"

#include <limits>

#include "core/base/error.h"
#include "core/base/huge_pages.h"

namespace hsr {

Tensor::Tensor(size_t heads, size_t rows, size_t cols)
    : heads_(heads), rows_(rows), cols_(cols) {
  const size_t kMax = std::numeric_limits<size_t>::max() / sizeof(float);
  HSR_CHECK(rows == 0 || cols == 0 || heads <= kMax / rows / cols,
            "Tensor: expected a size that fits in memory, got [{}, {}, {}]", heads, rows, cols);
  const size_t bytes = size() * sizeof(float);
  if (bytes == 0) return;
  // Large tensors (K/V caches) start on a huge-page boundary and ask for huge pages before the
  // first write (core/base/huge_pages.h); small ones stay 64-byte aligned.
  data_.reset(static_cast<float*>(AllocateStreamed(bytes)));
}

}  // namespace hsr
