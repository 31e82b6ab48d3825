// lowrank: keys and queries in a shared random rank-r subspace plus isotropic noise.
//   lowrank:n=,m=,d=,dv=,heads=,kv_heads=,seed=,rank=16,noise=0.05
// Per KV head g: basis B_g [rank, d] iid N(0, 1/rank); key j = a_j B_g + noise * N(0, I) with
// a_j ~ N(0, I_rank), so each coordinate has variance ~1 + noise^2 and K^T K / n has rank
// `rank` up to the noise floor. Queries of the heads sharing KV head g use the same basis.
// V iid N(0, 1).
#include <algorithm>
#include <cmath>
#include <vector>

#include <fmt/format.h>

#include "core/base/error.h"
#include "sim/workload/generators/generators.h"
#include "sim/workload/generators/spec_reader.h"

namespace hsr::sim {
namespace {

class LowRankSource final : public WorkloadSource {
 public:
  explicit LowRankSource(const WorkloadSpec& spec) {
    SpecReader r(spec);
    shape_.Read(r);
    rank_ = r.Size("rank", std::min<uint64_t>(16, shape_.d), 1);
    noise_ = r.Real("noise", 0.05, 0.0, 1e3);
    r.CheckNoUnknownKeys();
    shape_.Check("lowrank");
    HSR_CHECK(rank_ <= shape_.d, "workload 'lowrank': expected rank <= d={}, got rank={}",
              shape_.d, rank_);
  }

  std::string Describe() const override {
    return fmt::format("{},rank={},noise={}", shape_.Describe("lowrank"), rank_, noise_);
  }

  Workload Make() const override {
    Workload w = shape_.Allocate(Describe());
    const uint64_t seed = shape_.seed;
    const size_t d = shape_.d, rank = rank_;
    Tensor basis(shape_.kv_heads, rank, d);
    FillGaussian(seed, 10, basis.flat());
    const float inv = static_cast<float>(1.0 / std::sqrt(static_cast<double>(rank)));
    for (float& x : basis.flat()) x *= inv;
    FillGaussian(seed, 0, w.q.flat());
    FillGaussian(seed, 1, w.k.flat());
    FillGaussian(seed, 2, w.v.flat());
    const float noise = static_cast<float>(noise_);
    const size_t group = shape_.heads / shape_.kv_heads;
    // x <- a B + noise * x, with a drawn from `stream` ([heads, rows, rank]).
    const auto project = [&](Tensor& t, uint64_t stream, size_t head_div) {
      Tensor coef(t.heads(), t.rows(), rank);
      FillGaussian(seed, stream, coef.flat());
      std::vector<float> row(d);
      for (size_t h = 0; h < t.heads(); ++h) {
        const ConstMatrixView b = basis.Matrix(h / head_div);
        for (size_t i = 0; i < t.rows(); ++i) {
          const float* a = coef.Matrix(h).Row(i);
          std::fill(row.begin(), row.end(), 0.0f);
          for (size_t r = 0; r < rank; ++r) {
            const float* br = b.Row(r);
            for (size_t x = 0; x < d; ++x) row[x] += a[r] * br[x];
          }
          float* out = t.Matrix(h).Row(i);
          for (size_t x = 0; x < d; ++x) out[x] = row[x] + noise * out[x];
        }
      }
    };
    project(w.k, 11, 1);
    project(w.q, 12, group);
    return w;
  }

 private:
  SyntheticShape shape_;
  uint64_t rank_ = 0;
  double noise_ = 0;
};

}  // namespace

std::unique_ptr<WorkloadSource> MakeLowRankSource(const WorkloadSpec& spec) {
  return std::make_unique<LowRankSource>(spec);
}

}  // namespace hsr::sim
