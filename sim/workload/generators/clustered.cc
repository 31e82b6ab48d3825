// clustered: keys and queries drawn around shared cluster centres (a Gaussian mixture).
//   clustered:n=,m=,d=,dv=,heads=,kv_heads=,seed=,clusters=64,spread=0.1
// Per KV head g: centres C_g [clusters, d] iid N(0, 1). Key j picks cluster
// HashOf(seed, g, j) % clusters and is C[c] + spread * N(0, I); query i of head h picks its cluster
// the same way among its KV head's centres (so queries sit near centres too). V iid N(0, 1).
// Deterministic: every value is a pure function of (seed, head, row, column).
#include <fmt/format.h>

#include "core/base/error.h"
#include "sim/workload/generators/generators.h"
#include "sim/workload/generators/spec_reader.h"

namespace hsr::sim {
namespace {

class ClusteredSource final : public WorkloadSource {
 public:
  explicit ClusteredSource(const WorkloadSpec& spec) {
    SpecReader r(spec);
    shape_.Read(r);
    clusters_ = r.Size("clusters", 64, 1);
    spread_ = r.Real("spread", 0.1, 0.0, 1e3);
    r.CheckNoUnknownKeys();
    shape_.Check("clustered");
    HSR_CHECK(clusters_ <= (uint64_t{1} << 24), "workload 'clustered': expected clusters <= 2^24, "
              "got clusters={}", clusters_);
  }

  std::string Describe() const override {
    return fmt::format("{},clusters={},spread={}", shape_.Describe("clustered"), clusters_,
                       spread_);
  }

  Workload Make() const override {
    Workload w = shape_.Allocate(Describe());
    const uint64_t seed = shape_.seed;
    Tensor centres(shape_.kv_heads, clusters_, shape_.d);
    FillGaussian(seed, 10, centres.flat());
    FillGaussian(seed, 0, w.q.flat());
    FillGaussian(seed, 1, w.k.flat());
    FillGaussian(seed, 2, w.v.flat());
    const float spread = static_cast<float>(spread_);
    const size_t group = shape_.heads / shape_.kv_heads;
    // x <- centre + spread * x, row by row.
    const auto place = [&](MatrixView rows, size_t kv_head, uint64_t stream) {
      for (size_t i = 0; i < rows.rows; ++i) {
        const size_t c = HashOf(seed, stream, i) % clusters_;
        const float* centre = centres.Matrix(kv_head).Row(c);
        float* x = rows.Row(i);
        for (size_t t = 0; t < rows.cols; ++t) x[t] = centre[t] + spread * x[t];
      }
    };
    for (size_t g = 0; g < shape_.kv_heads; ++g) place(w.k.Matrix(g), g, 20 + g);
    for (size_t h = 0; h < shape_.heads; ++h) place(w.q.Matrix(h), h / group, (1u << 20) + h);
    return w;
  }

 private:
  SyntheticShape shape_;
  uint64_t clusters_ = 0;
  double spread_ = 0;
};

}  // namespace

std::unique_ptr<WorkloadSource> MakeClusteredSource(const WorkloadSpec& spec) {
  return std::make_unique<ClusteredSource>(spec);
}

}  // namespace hsr::sim
