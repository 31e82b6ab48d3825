// Owning, 64-byte aligned float32 tensor of up to three dimensions [heads, rows, cols].
// Allocation does not touch the memory (callers fill it); Zero() does.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>

#include "core/tensor/view.h"

namespace hsr {

class Tensor {
 public:
  Tensor() = default;
  Tensor(size_t heads, size_t rows, size_t cols);
  Tensor(size_t rows, size_t cols) : Tensor(1, rows, cols) {}

  size_t heads() const { return heads_; }
  size_t rows() const { return rows_; }
  size_t cols() const { return cols_; }
  size_t size() const { return heads_ * rows_ * cols_; }
  float* data() { return data_.get(); }
  const float* data() const { return data_.get(); }
  std::span<float> flat() { return {data(), size()}; }
  std::span<const float> flat() const { return {data(), size()}; }
  void Zero() {
    if (size() != 0) std::memset(data(), 0, size() * sizeof(float));
  }

  HeadsView Heads() { return HeadsView(data(), heads_, rows_, cols_); }
  ConstHeadsView Heads() const { return ConstHeadsView(data(), heads_, rows_, cols_); }
  // Head h as a matrix (h < heads()).
  MatrixView Matrix(size_t h = 0) { return Heads().Head(h); }
  ConstMatrixView Matrix(size_t h = 0) const { return Heads().Head(h); }

 private:
  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  size_t heads_ = 0, rows_ = 0, cols_ = 0;
  std::unique_ptr<float, Free> data_;
};

}  // namespace hsr
