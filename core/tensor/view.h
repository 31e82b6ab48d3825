// Non-owning row-major views over float32 data.
//
// MatrixView: rows x cols, element (r, c) at data[r * stride + c], stride >= cols.
// HeadsView:  heads x rows x cols ([H, n, d]), element (h, r, c) at
//             data[h * head_stride + r * stride + c].
// Views never own memory; see tensor.h for the owning Tensor.
#pragma once

#include <cstddef>
#include <span>

namespace hsr {

template <typename T>
struct MatrixViewT {
  T* data = nullptr;
  size_t rows = 0;
  size_t cols = 0;
  size_t stride = 0;  // elements between consecutive rows, >= cols

  MatrixViewT() = default;
  MatrixViewT(T* data_, size_t rows_, size_t cols_, size_t stride_)
      : data(data_), rows(rows_), cols(cols_), stride(stride_) {}
  MatrixViewT(T* data_, size_t rows_, size_t cols_)
      : MatrixViewT(data_, rows_, cols_, cols_) {}
  // Mutable -> const conversion.
  template <typename U>
  MatrixViewT(const MatrixViewT<U>& o)  // NOLINT(google-explicit-constructor)
      : data(o.data), rows(o.rows), cols(o.cols), stride(o.stride) {}

  T* Row(size_t r) const { return data + r * stride; }
  std::span<T> RowSpan(size_t r) const { return {Row(r), cols}; }
  T& operator()(size_t r, size_t c) const { return data[r * stride + c]; }
  bool empty() const { return rows == 0 || cols == 0; }
  // Rows [begin, begin + count).
  MatrixViewT RowRange(size_t begin, size_t count) const {
    return MatrixViewT(data + begin * stride, count, cols, stride);
  }
};

using MatrixView = MatrixViewT<float>;
using ConstMatrixView = MatrixViewT<const float>;

template <typename T>
struct HeadsViewT {
  T* data = nullptr;
  size_t heads = 0;
  size_t rows = 0;
  size_t cols = 0;
  size_t stride = 0;       // between rows of one head, >= cols
  size_t head_stride = 0;  // between heads, >= rows * stride when heads do not overlap

  HeadsViewT() = default;
  HeadsViewT(T* data_, size_t heads_, size_t rows_, size_t cols_, size_t stride_,
             size_t head_stride_)
      : data(data_), heads(heads_), rows(rows_), cols(cols_), stride(stride_),
        head_stride(head_stride_) {}
  // Dense [heads, rows, cols].
  HeadsViewT(T* data_, size_t heads_, size_t rows_, size_t cols_)
      : HeadsViewT(data_, heads_, rows_, cols_, cols_, rows_ * cols_) {}
  // One matrix as a single head.
  explicit HeadsViewT(const MatrixViewT<T>& m)
      : HeadsViewT(m.data, 1, m.rows, m.cols, m.stride, m.rows * m.stride) {}
  template <typename U>
  HeadsViewT(const HeadsViewT<U>& o)  // NOLINT(google-explicit-constructor)
      : data(o.data), heads(o.heads), rows(o.rows), cols(o.cols), stride(o.stride),
        head_stride(o.head_stride) {}

  MatrixViewT<T> Head(size_t h) const {
    return MatrixViewT<T>(data + h * head_stride, rows, cols, stride);
  }
};

using HeadsView = HeadsViewT<float>;
using ConstHeadsView = HeadsViewT<const float>;

}  // namespace hsr
