// sinks: a few "attention sink" keys that most queries attend to strongly (as the first tokens of
// real language models do).
//   sinks:n=,m=,d=,dv=,heads=,kv_heads=,seed=,sinks=4,strength=S (default ln n + 3)
// Per KV head g: a random unit direction s_g. Queries q = N(0, I) + sqrt(d) s_g; ordinary keys
// N(0, I); the sink keys (positions 0 .. sinks-1) are N(0, I) with their s_g component replaced by
// `strength`. With the default scale 1/sqrt(d) a sink's scaled score is strength + N(0, 1) while
// an ordinary key's is N(0, 2), so at the default strength the sinks take most of the softmax
// mass of nearly every query. V iid N(0, 1).
#include <algorithm>
#include <cmath>
#include <vector>

#include <fmt/format.h>

#include "core/base/error.h"
#include "sim/workload/generators/generators.h"
#include "sim/workload/generators/spec_reader.h"

namespace hsr::sim {
namespace {

class SinksSource final : public WorkloadSource {
 public:
  explicit SinksSource(const WorkloadSpec& spec) {
    SpecReader r(spec);
    shape_.Read(r);
    sinks_ = r.Size("sinks", 4, 0);
    strength_ = r.Real("strength", std::log(static_cast<double>(shape_.n)) + 3.0, 0.0, 1e4);
    r.CheckNoUnknownKeys();
    shape_.Check("sinks");
    HSR_CHECK(sinks_ <= shape_.n, "workload 'sinks': expected sinks <= n={}, got sinks={}",
              shape_.n, sinks_);
  }

  std::string Describe() const override {
    return fmt::format("{},sinks={},strength={}", shape_.Describe("sinks"), sinks_,
                       strength_);
  }

  Workload Make() const override {
    Workload w = shape_.Allocate(Describe());
    const uint64_t seed = shape_.seed;
    const size_t d = shape_.d;
    FillGaussian(seed, 0, w.q.flat());
    FillGaussian(seed, 1, w.k.flat());
    FillGaussian(seed, 2, w.v.flat());
    Tensor dirs(shape_.kv_heads, 1, d);
    FillGaussian(seed, 10, dirs.flat());
    const size_t group = shape_.heads / shape_.kv_heads;
    const double sqrt_d = std::sqrt(static_cast<double>(d));
    for (size_t g = 0; g < shape_.kv_heads; ++g) {
      std::vector<double> s(d);
      double norm = 0;
      for (size_t a = 0; a < d; ++a) norm += double{dirs.Matrix(g)(0, a)} * dirs.Matrix(g)(0, a);
      norm = std::sqrt(std::max(norm, 1e-300));
      for (size_t a = 0; a < d; ++a) s[a] = dirs.Matrix(g)(0, a) / norm;
      for (size_t j = 0; j < sinks_; ++j) {
        float* k = w.k.Matrix(g).Row(j);
        double dot = 0;
        for (size_t a = 0; a < d; ++a) dot += s[a] * k[a];
        for (size_t a = 0; a < d; ++a) k[a] = static_cast<float>(k[a] + (strength_ - dot) * s[a]);
      }
      for (size_t h = g * group; h < (g + 1) * group; ++h) {
        for (size_t i = 0; i < shape_.m; ++i) {
          float* q = w.q.Matrix(h).Row(i);
          for (size_t a = 0; a < d; ++a) q[a] = static_cast<float>(q[a] + sqrt_d * s[a]);
        }
      }
    }
    return w;
  }

 private:
  SyntheticShape shape_;
  uint64_t sinks_ = 0;
  double strength_ = 0;
};

}  // namespace

std::unique_ptr<WorkloadSource> MakeSinksSource(const WorkloadSpec& spec) {
  return std::make_unique<SinksSource>(spec);
}

}  // namespace hsr::sim
