// planted: the paper's "massive activation" setting, holding EXACTLY on the generated data.
//   planted:n=,m=,d=,dv=,heads=,kv_heads=,seed=,r=64 (or gamma=G: r = floor(n^G)),
//           beta2=1,gap=4   (beta1 = beta2 + gap)
// For every query, exactly r keys have scaled score s = scale <q, k> >= beta1 ln n and every other
// key has s <= beta2 ln n (scale = 1/sqrt(d), the default; the score computed in float64 from the
// stored float32 values; a margin of 1e-3 (1 + |beta1 ln n|) absorbs float32 rounding).
//
// Construction, per KV head g: T = min(m, d, floor(n / r)) orthonormal "topic" directions u_t
// (Gram-Schmidt of Gaussian vectors, float64). Query i of every head in g's group is
// q_i = sqrt(d) u_{i mod T}, so its scaled score on key k is exactly <u_t, k> (queries that share a
// topic are identical). Each key starts as Gaussian noise with every topic component removed; then
// its component along u_t is set to c_t: for the r keys planted for topic t (a seeded random
// disjoint choice of positions) c_t = beta1 ln n + margin + |N(0, 1/4)|, for every other (key,
// topic) pair c_t = min(N(0, 1), beta2 ln n - margin). V is iid N(0, 1).
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include <fmt/format.h>

#include "core/base/error.h"
#include "sim/workload/generators/generators.h"
#include "sim/workload/generators/spec_reader.h"

namespace hsr::sim {
namespace {

class PlantedSource final : public WorkloadSource {
 public:
  explicit PlantedSource(const WorkloadSpec& spec) {
    SpecReader r(spec);
    shape_.Read(r);
    const bool has_r = r.Has("r"), has_gamma = r.Has("gamma");
    r_ = r.Size("r", 64, 1);
    gamma_ = r.Real("gamma", 0.0, 0.0, 1.0);
    beta2_ = r.Real("beta2", 1.0, 0.0, 100.0);
    gap_ = r.Real("gap", 4.0, 1e-3, 100.0);
    r.CheckNoUnknownKeys();
    shape_.Check("planted");
    HSR_CHECK(!(has_r && has_gamma),
              "workload 'planted': expected r or gamma (r = floor(n^gamma)), got both");
    if (has_gamma) {
      r_ = std::max<uint64_t>(
          1, static_cast<uint64_t>(std::floor(std::pow(static_cast<double>(shape_.n), gamma_))));
    } else if (!has_r) {
      r_ = std::min<uint64_t>(r_, shape_.n);
    }
    HSR_CHECK(r_ <= shape_.n, "workload 'planted': expected r <= n={}, got r={}", shape_.n, r_);
    HSR_CHECK(shape_.n >= 2, "workload 'planted': expected n >= 2 (ln n > 0), got n={}", shape_.n);
    topics_ = std::min<uint64_t>({shape_.m, shape_.d, shape_.n / r_});
  }

  std::string Describe() const override {
    return fmt::format("{},r={},beta2={},gap={}", shape_.Describe("planted"), r_, beta2_, gap_);
  }

  Workload Make() const override {
    Workload w = shape_.Allocate(Describe());
    const uint64_t seed = shape_.seed;
    const size_t n = shape_.n, d = shape_.d, T = topics_;
    const double ln_n = std::log(static_cast<double>(n));
    const double lo = (beta2_ + gap_) * ln_n, hi = beta2_ * ln_n;
    const double margin = 1e-3 * (1.0 + std::abs(lo));
    FillGaussian(seed, 1, w.k.flat());
    FillGaussian(seed, 2, w.v.flat());
    Tensor dirs(shape_.kv_heads, T, d), comps(shape_.kv_heads, n, T);
    FillGaussian(seed, 10, dirs.flat());
    FillGaussian(seed, 11, comps.flat());
    const size_t group = shape_.heads / shape_.kv_heads;
    for (size_t g = 0; g < shape_.kv_heads; ++g) {
      const std::vector<double> u = Orthonormal(dirs.Matrix(g));  // T x d
      // Planted positions: topic t owns perm[t r, (t + 1) r).
      std::vector<size_t> perm(n);
      std::iota(perm.begin(), perm.end(), size_t{0});
      for (size_t i = n - 1; i > 0; --i) {
        std::swap(perm[i], perm[HashOf(seed, 30 + g, i) % (i + 1)]);
      }
      std::vector<size_t> topic_of(n, T);  // T: background for every topic
      for (size_t t = 0; t < T; ++t)
        for (size_t j = 0; j < r_; ++j) topic_of[perm[t * r_ + j]] = t;
      std::vector<double> x(d);
      for (size_t j = 0; j < n; ++j) {
        float* k = w.k.Matrix(g).Row(j);
        const float* c = comps.Matrix(g).Row(j);
        for (size_t a = 0; a < d; ++a) x[a] = k[a];
        for (size_t t = 0; t < T; ++t) {  // remove every topic component
          const double* ut = &u[t * d];
          double dot = 0;
          for (size_t a = 0; a < d; ++a) dot += ut[a] * x[a];
          for (size_t a = 0; a < d; ++a) x[a] -= dot * ut[a];
        }
        for (size_t t = 0; t < T; ++t) {
          const double ct = topic_of[j] == t ? lo + margin + 0.5 * std::abs(double{c[t]})
                                             : std::min(double{c[t]}, hi - margin);
          const double* ut = &u[t * d];
          for (size_t a = 0; a < d; ++a) x[a] += ct * ut[a];
        }
        for (size_t a = 0; a < d; ++a) k[a] = static_cast<float>(x[a]);
      }
      const double sqrt_d = std::sqrt(static_cast<double>(d));
      for (size_t h = g * group; h < (g + 1) * group; ++h) {
        for (size_t i = 0; i < shape_.m; ++i) {
          const double* ut = &u[(i % T) * d];
          float* q = w.q.Matrix(h).Row(i);
          for (size_t a = 0; a < d; ++a) q[a] = static_cast<float>(sqrt_d * ut[a]);
        }
      }
    }
    return w;
  }

 private:
  // Gram-Schmidt (twice, for float64 orthogonality) over the rows of v; T x d, row-major.
  static std::vector<double> Orthonormal(ConstMatrixView v) {
    const size_t T = v.rows, d = v.cols;
    std::vector<double> u(T * d);
    for (size_t t = 0; t < T; ++t) {
      double* ut = &u[t * d];
      for (size_t a = 0; a < d; ++a) ut[a] = v(t, a);
      for (int pass = 0; pass < 2; ++pass) {
        for (size_t s = 0; s < t; ++s) {
          const double* us = &u[s * d];
          double dot = 0;
          for (size_t a = 0; a < d; ++a) dot += us[a] * ut[a];
          for (size_t a = 0; a < d; ++a) ut[a] -= dot * us[a];
        }
      }
      double norm = 0;
      for (size_t a = 0; a < d; ++a) norm += ut[a] * ut[a];
      norm = std::sqrt(norm);
      HSR_CHECK(norm > 1e-6, "workload 'planted': expected independent topic directions, got a "
                "degenerate one (t={}); try another seed", t);
      for (size_t a = 0; a < d; ++a) ut[a] /= norm;
    }
    return u;
  }

  SyntheticShape shape_;
  uint64_t r_ = 0, topics_ = 0;
  double gamma_ = 0, beta2_ = 0, gap_ = 0;
};

}  // namespace

std::unique_ptr<WorkloadSource> MakePlantedSource(const WorkloadSpec& spec) {
  return std::make_unique<PlantedSource>(spec);
}

}  // namespace hsr::sim
