// fitted: queries, keys and values drawn from a generative model fitted to ONE recorded head, so
// that a short recording (2048 tokens) can drive a sweep to n = 2^20.
//   fitted:npy:DIR[,layer=L,head=H],n=N[,m=M,seed=S,rank=R|auto,sinks=K,outliers=on|off]
// layer: default the first listed in the manifest; head: query head (default 0) and its KV head;
// m: queries (default 1); seed: default 1; rank (default auto); sinks (default: detected count);
// outliers (default on; off: the independent model alone, as before outliers existed).
// Fit (float64, in the constructor): for each of K (sink keys left out), Q (the second half of
// the recorded query rows: late, decode-like queries that see most keys, as hsr inspect samples
// them; with rotary positions early queries have a different mean) and V (sink rows left out):
// the mean, the eigen-decomposition of the centred covariance (SymmetricEigenvalues,
// sim/workload/symmetric_eigen.h), the top r components (rank=R, or with rank=auto the fewest for
// 90% of the trace, per tensor), and the residual variance sigma^2 = (sum of the
// other eigenvalues) / d. A drawn row is mean + sum_i sqrt(lambda_i) z_i u_i + sigma * e with
// z, e iid N(0, 1) (FillGaussian streams: K 1/2, Q 3/4, V 5/6, coefficients / noise), so rows
// are a pure function of (seed, row): a larger n extends the same keys.
// Sinks: the recorded keys that are top-1 for more than 5% of the sampled queries (hsr inspect's
// rule); if none, key 0 when its mean scaled score over the query rows is more than 3 pooled
// standard deviations above the pooled mean. Positions 0..K-1 hold copies of those keys (and
// their values), cycling through them; sinks=K > 0 with no sink in the recording is an error.
// Outliers: independent Q and K give every query Gaussian scores, but a trained head's query
// has a few keys far above the rest (they hold most of its softmax mass), which no independent
// model makes. So per recorded query (up to kProfileQueries of the late rows, evenly spaced) the
// fit keeps its outlier profile: the gaps s_j - mu over its visible non-sink keys whose z-score
// (s_j - mu) / sigma exceeds sqrt(2 ln n_visible), the expected maximum of that many iid
// Gaussian scores (what the bulk cannot reach). Each drawn query r takes a profile (seeded) and
// gets one planted key per gap, right after the sinks (query 0's first): a key drawn from the K
// model, moved along the part of q_r orthogonal to the mean query (so other queries see it as an
// ordinary key) until scale <q_r, k> = scale <q_r, mean_k> + gap. A query's outliers are thus a
// fixed set of keys with the recording's score gaps, and a larger n adds bulk keys only: this is
// how fitted rows extrapolate beyond the recording's n. Checked at the recording's n against
// the recording (CompareFittedToRecording, sim/workload/workload_test.cc).
// The workload carries the recorded scale; causal = false: a generated key set has no
// positional order, so every query sees all n keys (decode). recorded = false.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/attention/params.h"
#include "core/base/error.h"
#include "sim/inspect/inspect.h"  // the sink rule (DetectSinks) and CompareFittedToRecording
#include "sim/workload/generators/generators.h"
#include "sim/workload/generators/spec_reader.h"
#include "sim/workload/io/recorded.h"
#include "sim/workload/symmetric_eigen.h"

namespace hsr::sim {
namespace {

// Mean + top-r principal components + isotropic residual of a set of rows.
struct RowModel {
  size_t d = 0, rank = 0;
  std::vector<double> mean;   // d
  std::vector<float> basis;   // [rank, d]: sqrt(lambda_i) u_i
  double sigma = 0;           // residual standard deviation per coordinate
};

// rows: indices into m (all rows when empty). rank 0: fewest components for 90% energy.
RowModel FitRows(ConstMatrixView m, const std::vector<size_t>& rows, size_t rank) {
  RowModel f;
  const size_t d = m.cols, cnt = rows.size();
  f.d = d;
  f.mean.assign(d, 0.0);
  for (size_t j : rows)
    for (size_t a = 0; a < d; ++a) f.mean[a] += m.Row(j)[a];
  for (double& x : f.mean) x /= static_cast<double>(std::max<size_t>(cnt, 1));
  std::vector<double> c(d * d, 0.0), x(d);
  for (size_t j : rows) {
    for (size_t a = 0; a < d; ++a) x[a] = m.Row(j)[a] - f.mean[a];
    for (size_t a = 0; a < d; ++a)
      for (size_t b = a; b < d; ++b) c[a * d + b] += x[a] * x[b];
  }
  for (size_t a = 0; a < d; ++a)
    for (size_t b = a; b < d; ++b) {
      c[a * d + b] /= static_cast<double>(std::max<size_t>(cnt, 1));
      c[b * d + a] = c[a * d + b];
    }
  std::vector<double> vecs;
  const std::vector<double> ev = SymmetricEigenvalues(std::move(c), d, &vecs);
  f.rank = rank == 0 ? std::max<size_t>(1, ComponentsForEnergy(ev, 0.90)) : rank;
  f.rank = std::min(f.rank, d);
  double rest = 0;
  for (size_t i = f.rank; i < d; ++i) rest += std::max(ev[i], 0.0);
  f.sigma = std::sqrt(rest / static_cast<double>(d));
  f.basis.resize(f.rank * d);
  for (size_t i = 0; i < f.rank; ++i) {
    const double s = std::sqrt(std::max(ev[i], 0.0));
    for (size_t a = 0; a < d; ++a) f.basis[i * d + a] = static_cast<float>(s * vecs[i * d + a]);
  }
  return f;
}

// Fills rows [first, out.rows) of `out` from the model; row r uses draw r - first.
void DrawRows(const RowModel& f, uint64_t seed, uint64_t stream, MatrixView out, size_t first) {
  const size_t count = out.rows - first, d = f.d, rank = f.rank;
  if (count == 0) return;
  std::vector<float> coef(count * rank);
  FillGaussian(seed, stream, coef);
  std::span<float> noise(out.Row(first), count * d);  // rows are contiguous
  FillGaussian(seed, stream + 1, noise);
  const float sigma = static_cast<float>(f.sigma);
  std::vector<float> mean(d), row(d);
  for (size_t a = 0; a < d; ++a) mean[a] = static_cast<float>(f.mean[a]);
  for (size_t i = 0; i < count; ++i) {
    const float* z = &coef[i * rank];
    row = mean;
    for (size_t r = 0; r < rank; ++r) {
      const float* b = &f.basis[r * d];
      for (size_t a = 0; a < d; ++a) row[a] += z[r] * b[a];
    }
    float* o = out.Row(first + i);
    for (size_t a = 0; a < d; ++a) o[a] = row[a] + sigma * o[a];
  }
}

// Recorded queries whose outlier profiles the fit keeps (late rows, evenly spaced).
constexpr size_t kProfileQueries = 256;

// Outlier profile of each sampled late query of the recorded head: the gaps s_j - mu (scaled
// scores over its visible keys other than `sinks`, float64) of the keys with z-score above
// sqrt(2 ln n_visible), descending.
std::vector<std::vector<double>> OutlierProfiles(const Workload& rec,
                                                 const std::vector<size_t>& sinks) {
  const ConstMatrixView q = rec.q.Matrix(0), k = rec.k.Matrix(0);
  const double scale =
      rec.scale > 0 ? double{rec.scale} : 1.0 / std::sqrt(static_cast<double>(rec.d));
  std::vector<char> is_sink(rec.n, 0);
  for (size_t j : sinks) is_sink[j] = 1;
  const size_t first = rec.m / 2, late = rec.m - first;
  const size_t count = std::min(late, kProfileQueries);
  std::vector<std::vector<double>> profiles;
  std::vector<double> s;
  for (size_t t = 0; t < count; ++t) {
    const size_t i = first + t * late / count;
    const size_t visible = VisibleKeys(rec.causal, i, rec.m, rec.n);
    s.clear();
    for (size_t j = 0; j < visible; ++j) {
      if (is_sink[j]) continue;
      double dot = 0;
      for (size_t a = 0; a < rec.d; ++a) dot += double{q.Row(i)[a]} * k.Row(j)[a];
      s.push_back(scale * dot);
    }
    if (s.size() < 2) continue;
    double mean = 0, var = 0;
    for (double x : s) mean += x;
    mean /= static_cast<double>(s.size());
    for (double x : s) var += (x - mean) * (x - mean);
    const double sd = std::sqrt(var / static_cast<double>(s.size()));
    const double cut = std::sqrt(2.0 * std::log(static_cast<double>(s.size())));
    std::vector<double> gaps;
    for (double x : s)
      if (sd > 0 && (x - mean) / sd > cut) gaps.push_back(x - mean);
    std::sort(gaps.rbegin(), gaps.rend());
    profiles.push_back(std::move(gaps));
  }
  return profiles;
}

Workload FromRecorded(RecordedHeads& rh, std::string description) {
  Workload w;
  w.q_heads = rh.q.heads();
  w.kv_heads = rh.k.heads();
  w.n = rh.k.rows();
  w.m = rh.q.rows();
  w.d = rh.k.cols();
  w.dv = rh.v.cols();
  w.q = std::move(rh.q);
  w.k = std::move(rh.k);
  w.v = std::move(rh.v);
  w.scale = rh.scale;
  w.causal = rh.causal;
  w.recorded = true;
  w.description = std::move(description);
  return w;
}

class FittedSource final : public WorkloadSource {
 public:
  explicit FittedSource(const WorkloadSpec& spec) {
    SpecReader r(spec);
    const auto path = r.Text("path");
    HSR_CHECK(path && path->rfind("npy:", 0) == 0 && path->size() > 4,
              "workload 'fitted': expected fitted:npy:DIR[,layer=L,head=H],n=N..., got '{}'",
              path.value_or(""));
    dir_ = path->substr(4);
    std::optional<size_t> layer;
    if (r.Has("layer")) layer = r.Size("layer", 0, 0);
    head_ = r.Size("head", 0, 0);
    HSR_CHECK(r.Has("n"), "workload 'fitted': expected n=N (keys to draw), got no n");
    n_ = r.Size("n", 0, 1);
    m_ = r.Size("m", 1, 1);
    seed_ = r.Size("seed", 1, 0);
    const auto rank = r.Text("rank");
    rank_ = rank && *rank == "auto" ? 0 : r.Size("rank", 0, 0);
    std::optional<size_t> sinks;
    if (r.Has("sinks")) sinks = r.Size("sinks", 0, 0);
    if (const auto o = r.Text("outliers")) {
      HSR_CHECK(*o == "on" || *o == "off",
                "workload 'fitted': expected outliers=on or outliers=off, got outliers={}", *o);
      outliers_ = *o == "on";
    }
    r.CheckNoUnknownKeys();

    RecordedHeads rh = LoadRecordedDir(ResolveWorkloadPath(dir_, "workload 'fitted'"), layer, head_);
    layer_ = rh.layer;
    source_ = FromRecorded(rh, fmt::format("npy:{},layer={},head={},m=all", dir_, layer_, head_));
    const Workload& rec = source_;
    d_ = rec.d;
    dv_ = rec.dv;
    scale_ = rec.scale;
    HSR_CHECK(rank_ <= d_, "workload 'fitted': expected rank <= d={}, got rank={}", d_, rank_);
    sink_keys_ = DetectSinks(rec);
    sinks_ = sinks.value_or(sink_keys_.size());
    HSR_CHECK(sinks_ == 0 || !sink_keys_.empty(),
              "workload 'fitted': expected a sink key in the recording for sinks={}, got none "
              "(no key is top-1 for more than 5% of queries)", sinks_);
    HSR_CHECK(sinks_ <= n_, "workload 'fitted': expected sinks <= n={}, got sinks={}", n_,
              sinks_);
    std::vector<size_t> ordinary, late_q;
    for (size_t j = 0; j < rec.n; ++j)
      if (sinks_ == 0 || std::find(sink_keys_.begin(), sink_keys_.end(), j) == sink_keys_.end())
        ordinary.push_back(j);
    for (size_t i = rec.m / 2; i < rec.m; ++i) late_q.push_back(i);
    HSR_CHECK(!ordinary.empty(), "workload 'fitted': expected ordinary keys, got only sinks");
    k_ = FitRows(rec.k.Matrix(0), ordinary, rank_);
    q_ = FitRows(rec.q.Matrix(0), late_q, rank_);
    v_ = FitRows(rec.v.Matrix(0), ordinary, rank_);
    if (outliers_) {
      profiles_ = OutlierProfiles(rec, sinks_ == 0 ? std::vector<size_t>{} : sink_keys_);
    }
    // The profile of query r: the mt19937_64(seed)'s r-th draw modulo the profile count (the same
    // for every n).
    if (!profiles_.empty()) {
      std::mt19937_64 rng(seed_ ^ 0x6f75746c69657273ull);  // "outliers"
      pick_.resize(m_);
      for (size_t r = 0; r < m_; ++r) {
        pick_[r] = static_cast<size_t>(rng() % profiles_.size());
        planted_ += profiles_[pick_[r]].size();
      }
    }
    CheckPlantedFit();
  }

  std::string Describe() const override {
    return fmt::format(
        "fitted:npy:{},layer={},head={},n={},m={},seed={},rank={},sinks={},outliers={}", dir_,
        layer_, head_, n_, m_, seed_, rank_ == 0 ? std::string("auto") : std::to_string(rank_),
        sinks_, outliers_ ? "on" : "off");
  }

  Workload Make() const override {
    Workload w;
    w.n = n_;
    w.m = m_;
    w.d = d_;
    w.dv = dv_;
    w.q = Tensor(1, m_, d_);
    w.k = Tensor(1, n_, d_);
    w.v = Tensor(1, n_, dv_);
    w.seed = seed_;
    w.scale = scale_;
    w.causal = false;
    w.recorded = false;
    w.description = Describe();
    DrawRows(q_, seed_, 3, w.q.Matrix(0), 0);
    DrawRows(k_, seed_, 1, w.k.Matrix(0), sinks_);
    DrawRows(v_, seed_, 5, w.v.Matrix(0), sinks_);
    for (size_t s = 0; s < sinks_; ++s) {
      const size_t j = sink_keys_[s % sink_keys_.size()];
      std::memcpy(w.k.Matrix(0).Row(s), source_.k.Matrix(0).Row(j), d_ * sizeof(float));
      std::memcpy(w.v.Matrix(0).Row(s), source_.v.Matrix(0).Row(j), dv_ * sizeof(float));
    }
    PlantOutliers(&w);
    return w;
  }

  // Replaces n (CompareFittedToRecording draws at the recording's n).
  void SetN(size_t n) {
    HSR_CHECK(n >= std::max<size_t>(sinks_, 1),
              "workload 'fitted': expected n >= max(1, sinks={}), got n={}", sinks_, n);
    n_ = n;
    CheckPlantedFit();
  }
  const Workload& source() const { return source_; }
  size_t ranks(int t) const { return t == 0 ? q_.rank : t == 1 ? k_.rank : v_.rank; }
  const std::vector<size_t>& sink_keys() const { return sink_keys_; }

 private:
  void CheckPlantedFit() const {
    HSR_CHECK(sinks_ + planted_ <= n_,
              "workload 'fitted': expected n >= sinks + planted outlier keys = {} (m={} queries), "
              "got n={} (use a larger n or outliers=off)",
              sinks_ + planted_, m_, n_);
  }

  // One planted key per gap of each query's profile (the header comment), at positions sinks_,
  // sinks_ + 1, ... in query order.
  void PlantOutliers(Workload* w) const {
    if (profiles_.empty()) return;
    const double scale = scale_ > 0 ? double{scale_} : 1.0 / std::sqrt(static_cast<double>(d_));
    std::vector<double> u(d_);
    const std::vector<double>& qm = q_.mean;
    double qm2 = 0;
    for (double x : qm) qm2 += x * x;
    size_t j = sinks_;
    for (size_t r = 0; r < m_; ++r) {
      const float* q = w->q.Matrix(0).Row(r);
      // u: q_r without its component along the mean query, normalised (q_r when that is ~0).
      double qq = 0, proj = 0, norm = 0, mean_score = 0;
      for (size_t a = 0; a < d_; ++a) {
        qq += double{q[a]} * q[a];
        proj += double{q[a]} * qm[a];
        mean_score += double{q[a]} * k_.mean[a];
      }
      for (size_t a = 0; a < d_; ++a) u[a] = q[a] - (qm2 > 0 ? proj / qm2 : 0.0) * qm[a];
      for (double x : u) norm += x * x;
      if (norm <= 1e-12 * qq) {
        for (size_t a = 0; a < d_; ++a) u[a] = q[a];
        norm = qq;
      }
      norm = std::sqrt(norm);
      double qu = 0;
      for (size_t a = 0; a < d_; ++a) {
        u[a] /= norm;
        qu += double{q[a]} * u[a];
      }
      mean_score *= scale;
      for (double gap : profiles_[pick_[r]]) {
        float* k = w->k.Matrix(0).Row(j++);
        double s = 0;
        for (size_t a = 0; a < d_; ++a) s += double{q[a]} * k[a];
        const double delta = (mean_score + gap - scale * s) / (scale * qu);
        for (size_t a = 0; a < d_; ++a) k[a] = static_cast<float>(k[a] + delta * u[a]);
      }
    }
  }

  // Top-1 keys of more than 5% of the sampled queries (Inspect), else key 0 if its mean score
  // is more than 3 pooled standard deviations above the pooled mean.
  static std::vector<size_t> DetectSinks(const Workload& rec) {
    const Inspection in = Inspect(rec);
    const HeadInspection& h = in.heads.at(0);
    std::vector<size_t> keys;
    for (const auto& [key, share] : h.sinks) keys.push_back(key);
    if (!keys.empty()) return keys;
    const ConstMatrixView q = rec.q.Matrix(0), k = rec.k.Matrix(0);
    double sum = 0;
    for (size_t i = 0; i < rec.m; ++i) {
      double dot = 0;
      for (size_t a = 0; a < rec.d; ++a) dot += double{q.Row(i)[a]} * k.Row(0)[a];
      sum += in.scale * dot;
    }
    if (sum / static_cast<double>(rec.m) > h.score_mean + 3 * h.score_std) keys.push_back(0);
    return keys;
  }

  std::string dir_;
  size_t layer_ = 0, head_ = 0, n_ = 0, m_ = 1, rank_ = 0, sinks_ = 0, d_ = 0, dv_ = 0;
  uint64_t seed_ = 1;
  float scale_ = 0;
  bool outliers_ = true;
  std::vector<std::vector<double>> profiles_;  // outlier gaps per profiled recorded query
  std::vector<size_t> pick_;                   // profile of each drawn query
  size_t planted_ = 0;                         // planted keys in all (sum over pick_)
  Workload source_;  // the recorded head, every query row
  std::vector<size_t> sink_keys_;
  RowModel q_, k_, v_;
};

}  // namespace

std::unique_ptr<WorkloadSource> MakeFittedSource(const WorkloadSpec& spec) {
  return std::make_unique<FittedSource>(spec);
}

std::string FittedComparison::Format() const {
  return fmt::format(
      "n={} ranks q/k/v={}/{}/{} sinks=[{}]: scaled score mean {:.3f} vs {:.3f}, std {:.3f} vs "
      "{:.3f}, reported at paper b {:.2f}% vs {:.2f}%, softmax mass above b {:.3f} vs {:.3f}, "
      "keys for err={:g} true minimum {:.2f}% vs {:.2f}%, hsr-cpu {:.2f}% vs {:.2f}% (recorded "
      "vs fitted)",
      n, rank_q, rank_k, rank_v, fmt::join(sink_keys, ","), rec_mean, fit_mean, rec_std, fit_std,
      100 * rec_paper, 100 * fit_paper, rec_mass, fit_mass, kFittedCompareErr, 100 * rec_need,
      100 * fit_need, 100 * rec_engine, 100 * fit_engine);
}

FittedComparison CompareFittedToRecording(const WorkloadSpec& spec) {
  WorkloadSpec s = spec;
  s.Set("n", "1048576");  // placeholder, replaced below by the recorded n
  s.Set("m", "64");
  FittedSource src(s);
  src.SetN(src.source().n);
  const Workload fit = src.Make();
  InspectOptions io;
  io.cert_err = kFittedCompareErr;
  const Inspection ir = Inspect(src.source(), io), ifit = Inspect(fit, io);
  FittedComparison c;
  c.recorded = src.source().description;
  c.fitted = src.Describe();
  c.n = fit.n;
  c.rank_q = src.ranks(0);
  c.rank_k = src.ranks(1);
  c.rank_v = src.ranks(2);
  c.sink_keys = src.sink_keys();
  c.rec_mean = ir.heads[0].score_mean;
  c.rec_std = ir.heads[0].score_std;
  c.rec_paper = ir.heads[0].paper_frac.mean;
  c.fit_mean = ifit.heads[0].score_mean;
  c.fit_std = ifit.heads[0].score_std;
  c.fit_paper = ifit.heads[0].paper_frac.mean;
  c.rec_mass = ir.heads[0].mass_above_paper.mean;
  c.fit_mass = ifit.heads[0].mass_above_paper.mean;
  c.rec_need = ir.heads[0].need_true;
  c.fit_need = ifit.heads[0].need_true;
  c.rec_engine = ir.heads[0].need_engine;
  c.fit_engine = ifit.heads[0].need_engine;
  return c;
}

}  // namespace hsr::sim
