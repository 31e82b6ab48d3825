#include "sim/inspect/inspect.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "core/attention/params.h"
#include "core/base/error.h"
#include "core/hsr/threshold.h"
#include "core/index/sketch8.h"
#include "sim/stats/summary.h"
#include "sim/workload/symmetric_eigen.h"
#include "verify/keys_needed.h"

namespace hsr::sim {
namespace {

// Accumulates mean / min / max of per-query values.
class SpreadAcc {
 public:
  void Add(double x) {
    sum_ += x;
    min_ = count_ == 0 ? x : std::min(min_, x);
    max_ = count_ == 0 ? x : std::max(max_, x);
    ++count_;
  }
  Spread Get() const { return {count_ ? sum_ / count_ : 0.0, min_, max_}; }

 private:
  double sum_ = 0, min_ = 0, max_ = 0;
  size_t count_ = 0;
};

double Norm(const float* x, size_t d) {
  double s = 0;
  for (size_t a = 0; a < d; ++a) s += double{x[a]} * x[a];
  return std::sqrt(s);
}

// Median (sim/stats/summary.h's quantile rule); 0 for an empty list.
double Median(std::vector<double> x) { return x.empty() ? 0.0 : Quantile(std::move(x), 0.5); }

// K^T K / n for one head, then components for 90% / 99% energy.
std::pair<size_t, size_t> EffectiveRank(ConstMatrixView k) {
  const size_t n = k.rows, d = k.cols;
  std::vector<double> c(d * d, 0.0);
  std::vector<double> row(d);
  for (size_t j = 0; j < n; ++j) {
    const float* x = k.Row(j);
    for (size_t a = 0; a < d; ++a) row[a] = x[a];
    for (size_t a = 0; a < d; ++a) {
      double* ca = &c[a * d];
      const double xa = row[a];
      for (size_t b = a; b < d; ++b) ca[b] += xa * row[b];
    }
  }
  for (size_t a = 0; a < d; ++a)
    for (size_t b = a; b < d; ++b) {
      c[a * d + b] /= static_cast<double>(n);
      c[b * d + a] = c[a * d + b];
    }
  const std::vector<double> ev = SymmetricEigenvalues(std::move(c), d);
  return {ComponentsForEnergy(ev, 0.90), ComponentsForEnergy(ev, 0.99)};
}

}  // namespace

Inspection Inspect(const Workload& w, const InspectOptions& o) {
  HSR_CHECK(w.n > 0 && w.m > 0 && w.d > 0, "inspect: expected n, m, d >= 1, got n={} m={} d={}",
            w.n, w.m, w.d);
  HSR_CHECK(o.queries >= 1, "inspect: expected at least 1 sampled query, got {}", o.queries);
  Inspection in;
  in.workload = w.description;
  in.q_heads = w.q_heads;
  in.kv_heads = w.kv_heads;
  in.n = w.n;
  in.m = w.m;
  in.d = w.d;
  in.dv = w.dv;
  in.causal = w.causal;
  in.quantiles = o.quantiles;
  in.cert_err = o.cert_err;
  AttentionParams p;
  if (o.scale > 0) p.scale = o.scale;
  else if (w.scale > 0) p.scale = w.scale;
  const double scale = p.ScaleFor(w.d);
  in.scale = scale;
  in.row_begin = w.causal ? w.m / 2 : 0;
  in.row_end = w.m;
  const size_t avail = in.row_end - in.row_begin;
  const size_t samples = std::min(avail, o.queries);
  std::vector<size_t> rows(samples);
  for (size_t s = 0; s < samples; ++s) rows[s] = in.row_begin + (s * avail) / samples;

  const size_t group = w.q_heads / w.kv_heads;
  std::vector<std::pair<size_t, size_t>> ranks(w.kv_heads);
  std::vector<double> k_norm_mean(w.kv_heads), k_norm_max(w.kv_heads);
  for (size_t g = 0; g < w.kv_heads; ++g) {
    ranks[g] = EffectiveRank(w.k.Matrix(g));
    double sum = 0, mx = 0;
    for (size_t j = 0; j < w.n; ++j) {
      const double nk = Norm(w.k.Matrix(g).Row(j), w.d);
      sum += nk;
      mx = std::max(mx, nk);
    }
    k_norm_mean[g] = sum / static_cast<double>(w.n);
    k_norm_max[g] = mx;
  }

  for (size_t h = 0; h < w.q_heads; ++h) {
    HeadInspection hi;
    hi.q_head = h;
    hi.kv_head = h / group;
    hi.sampled = samples;
    hi.rank90 = ranks[hi.kv_head].first;
    hi.rank99 = ranks[hi.kv_head].second;
    hi.k_norm_mean = k_norm_mean[hi.kv_head];
    hi.k_norm_max = k_norm_max[hi.kv_head];
    const ConstMatrixView q = w.q.Matrix(h), k = w.k.Matrix(hi.kv_head);
    double qsum = 0;
    for (size_t i = 0; i < w.m; ++i) {
      const double nq = Norm(q.Row(i), w.d);
      qsum += nq;
      hi.q_norm_max = std::max(hi.q_norm_max, nq);
    }
    hi.q_norm_mean = qsum / static_cast<double>(w.m);

    // Scores of every sampled query over its visible keys.
    std::vector<std::vector<double>> scores(samples);
    std::vector<double> pooled;
    double sum = 0, sum2 = 0, vis_sum = 0;
    for (size_t s = 0; s < samples; ++s) {
      const size_t i = rows[s];
      const size_t nv = VisibleKeys(w.causal, i, w.m, w.n);
      vis_sum += static_cast<double>(nv);
      std::vector<double>& sc = scores[s];
      sc.resize(nv);
      const float* qi = q.Row(i);
      for (size_t j = 0; j < nv; ++j) {
        const float* kj = k.Row(j);
        double dot = 0;
        for (size_t a = 0; a < w.d; ++a) dot += double{qi[a]} * kj[a];
        sc[j] = scale * dot;
        sum += sc[j];
        sum2 += sc[j] * sc[j];
      }
      pooled.insert(pooled.end(), sc.begin(), sc.end());
    }
    hi.visible_mean = samples ? vis_sum / static_cast<double>(samples) : 0;
    std::sort(pooled.begin(), pooled.end());
    const double cnt = static_cast<double>(pooled.size());
    if (!pooled.empty()) {
      hi.score_mean = sum / cnt;
      hi.score_std = std::sqrt(std::max(0.0, sum2 / cnt - hi.score_mean * hi.score_mean));
      hi.score_max = pooled.back();
      hi.score_p999 = QuantileOfSorted(pooled, 0.999);
    }
    for (double qq : o.quantiles) {
      hi.quantile_b.push_back(pooled.empty() ? 0.0 : QuantileOfSorted(pooled, qq));
    }

    // Keys needed for err=cert_err per certificate (verify/keys_needed.h).
    Sketch8Index sketch(1);
    sketch.Build(k, static_cast<float>(scale));
    std::vector<double> need_tau, need_sketch, need_engine, need_true;
    for (size_t s = 0; s < samples; ++s) {
      const size_t nv = scores[s].size();
      if (nv == 0) continue;
      const verify::KeysNeeded kn = verify::KeysForError(
          sketch, std::span<const float>(q.Row(rows[s]), w.d), scores[s], o.cert_err);
      const double f = static_cast<double>(nv);
      need_tau.push_back(static_cast<double>(kn.tau) / f);
      need_sketch.push_back(static_cast<double>(kn.sketch) / f);
      need_engine.push_back(static_cast<double>(kn.engine) / f);
      need_true.push_back(static_cast<double>(kn.truth) / f);
    }
    hi.need_tau = Median(need_tau);
    hi.need_sketch = Median(need_sketch);
    hi.need_engine = Median(need_engine);
    hi.need_true = Median(need_true);

    SpreadAcc paper, top_mass, above_mass, max_w, n45;
    std::vector<SpreadAcc> quant(o.quantiles.size());
    std::map<size_t, size_t> top1;
    for (size_t s = 0; s < samples; ++s) {
      const std::vector<double>& sc = scores[s];
      const size_t nv = sc.size();
      if (nv == 0) continue;
      double mu = 0, var = 0, mx = sc[0];
      size_t arg = 0;
      for (size_t j = 0; j < nv; ++j) {
        mu += sc[j];
        if (sc[j] > mx) {
          mx = sc[j];
          arg = j;
        }
      }
      mu /= static_cast<double>(nv);
      for (double x : sc) var += (x - mu) * (x - mu);
      const double sigma = std::sqrt(var / static_cast<double>(nv));
      const double b = PaperThreshold(mu, sigma, nv);  // exact moments over every visible key
      ++top1[arg];
      double z = 0, z_above = 0;
      size_t above = 0;
      std::vector<double> wts(nv);
      for (size_t j = 0; j < nv; ++j) {
        wts[j] = std::exp(sc[j] - mx);
        z += wts[j];
        if (sc[j] > b) {
          ++above;
          z_above += wts[j];
        }
      }
      const double fnv = static_cast<double>(nv);
      paper.Add(static_cast<double>(above) / fnv);
      above_mass.Add(z_above / z);
      max_w.Add(1.0 / z);
      for (size_t t = 0; t < o.quantiles.size(); ++t) {
        size_t c = 0;
        for (double x : sc) c += x > hi.quantile_b[t];
        quant[t].Add(static_cast<double>(c) / fnv);
      }
      const size_t top = std::min(nv, static_cast<size_t>(std::ceil(std::pow(fnv, 0.8))));
      n45.Add(static_cast<double>(top) / fnv);
      std::nth_element(wts.begin(), wts.begin() + (top - 1), wts.end(), std::greater<>());
      double zt = 0;
      for (size_t j = 0; j < top; ++j) zt += wts[j];
      top_mass.Add(zt / z);
    }
    hi.paper_frac = paper.Get();
    hi.mass_top_n45 = top_mass.Get();
    hi.mass_above_paper = above_mass.Get();
    hi.max_weight = max_w.Get();
    hi.n45_frac = n45.Get().mean;
    for (const auto& a : quant) hi.quantile_frac.push_back(a.Get());
    for (const auto& [key, c] : top1) {
      const double share = static_cast<double>(c) / static_cast<double>(samples);
      if (share > 0.05) hi.sinks.emplace_back(key, share);
    }
    std::sort(hi.sinks.begin(), hi.sinks.end(),
              [](const auto& a, const auto& b) { return a.second > b.second; });
    in.heads.push_back(std::move(hi));
  }
  return in;
}

namespace {

std::string Pct(double x) { return fmt::format("{:.1f}%", 100 * x); }
std::string PctSpread(const Spread& s) {
  return fmt::format("{:.1f}% ({:.1f}-{:.1f})", 100 * s.mean, 100 * s.min, 100 * s.max);
}
std::string FracSpread(const Spread& s) {
  return fmt::format("{:.2f} ({:.2f}-{:.2f})", s.mean, s.min, s.max);
}

nlohmann::json SpreadJson(const Spread& s) {
  return {{"mean", s.mean}, {"min", s.min}, {"max", s.max}};
}

}  // namespace

std::string FormatInspectionTable(const Inspection& in) {
  std::string out = fmt::format("# workload {}\n", in.workload);
  out += fmt::format(
      "# q_heads={} kv_heads={} n={} m={} d={} dv={} scale={:.6g} causal={}; sampled queries per "
      "head: {} from rows [{}, {}), all their visible keys\n",
      in.q_heads, in.kv_heads, in.n, in.m, in.d, in.dv, in.scale, in.causal,
      in.heads.empty() ? 0 : in.heads[0].sampled, in.row_begin, in.row_end);
  out += "# per-query columns: mean (min-max) over the sampled queries; paper b = mu + sigma "
         "sqrt(0.4 ln n_visible); qX = global threshold at the X quantile of the pooled scores\n";
  out += "# keys for err=E: median fraction of the visible keys to read so the certified "
         "dropped softmax mass is <= E: tau certificate, sketch8 per-key bounds (ideal order), "
         "hsr-cpu's err= path (100% = dense fallback), true-mass minimum\n";
  std::string quant_head, quant_sep;
  for (double q : in.quantiles) {
    quant_head += fmt::format(" reported at q{} |", q);
    quant_sep += "---|";
  }
  out += fmt::format(
      "| head | kv | norm q mean/max | norm k mean/max | score mean/std/max/p99.9 | reported at "
      "paper b |{} n^0.8/n | mass top n^0.8 | mass above b | max weight | K rank 90%/99% | "
      "sinks (share) | keys for err={:g}: tau / sketch / hsr-cpu / true |\n", quant_head,
      in.cert_err);
  out += fmt::format("|---|---|---|---|---|---|{}---|---|---|---|---|---|---|\n", quant_sep);
  for (const HeadInspection& h : in.heads) {
    std::string quant;
    for (const Spread& s : h.quantile_frac) quant += fmt::format(" {} |", PctSpread(s));
    std::string sinks;
    for (size_t i = 0; i < h.sinks.size() && i < 4; ++i) {
      sinks += fmt::format("{}{} ({:.0f}%)", i ? ", " : "", h.sinks[i].first,
                           100 * h.sinks[i].second);
    }
    if (h.sinks.size() > 4) sinks += fmt::format(", +{}", h.sinks.size() - 4);
    if (sinks.empty()) sinks = std::string("-");
    out += fmt::format(
        "| {} | {} | {:.2f}/{:.2f} | {:.2f}/{:.2f} | {:.2f}/{:.2f}/{:.2f}/{:.2f} | {} |{} {} | "
        "{} | {} | {} | {}/{} | {} | {} / {} / {} / {} |\n",
        h.q_head, h.kv_head, h.q_norm_mean, h.q_norm_max, h.k_norm_mean, h.k_norm_max,
        h.score_mean, h.score_std, h.score_max, h.score_p999, PctSpread(h.paper_frac), quant,
        Pct(h.n45_frac), FracSpread(h.mass_top_n45), FracSpread(h.mass_above_paper),
        FracSpread(h.max_weight), h.rank90, h.rank99, sinks, Pct(h.need_tau),
        Pct(h.need_sketch), Pct(h.need_engine), Pct(h.need_true));
  }
  return out;
}

nlohmann::json InspectionToJson(const Inspection& in) {
  nlohmann::json j = {{"workload", in.workload}, {"q_heads", in.q_heads},
                      {"kv_heads", in.kv_heads}, {"n", in.n}, {"m", in.m}, {"d", in.d},
                      {"dv", in.dv}, {"scale", in.scale}, {"causal", in.causal},
                      {"row_begin", in.row_begin}, {"row_end", in.row_end},
                      {"quantiles", in.quantiles}};
  nlohmann::json heads = nlohmann::json::array();
  for (const HeadInspection& h : in.heads) {
    nlohmann::json quant = nlohmann::json::array();
    for (size_t t = 0; t < h.quantile_frac.size(); ++t) {
      quant.push_back({{"quantile", in.quantiles[t]}, {"b", h.quantile_b[t]},
                       {"reported_frac", SpreadJson(h.quantile_frac[t])}});
    }
    nlohmann::json sinks = nlohmann::json::array();
    for (const auto& [key, share] : h.sinks) sinks.push_back({{"key", key}, {"share", share}});
    heads.push_back({{"q_head", h.q_head}, {"kv_head", h.kv_head}, {"sampled", h.sampled},
                     {"visible_mean", h.visible_mean},
                     {"q_norm_mean", h.q_norm_mean}, {"q_norm_max", h.q_norm_max},
                     {"k_norm_mean", h.k_norm_mean}, {"k_norm_max", h.k_norm_max},
                     {"score_mean", h.score_mean}, {"score_std", h.score_std},
                     {"score_max", h.score_max}, {"score_p999", h.score_p999},
                     {"paper_reported_frac", SpreadJson(h.paper_frac)},
                     {"keys_for_err", {{"err", in.cert_err}, {"tau", h.need_tau},
                                       {"sketch", h.need_sketch}, {"engine", h.need_engine},
                                       {"true", h.need_true}}},
                     {"quantile_thresholds", quant}, {"n45_frac", h.n45_frac},
                     {"mass_top_n45", SpreadJson(h.mass_top_n45)},
                     {"mass_above_paper_b", SpreadJson(h.mass_above_paper)},
                     {"max_weight", SpreadJson(h.max_weight)}, {"k_rank90", h.rank90},
                     {"k_rank99", h.rank99}, {"sinks", sinks}});
  }
  j["heads"] = heads;
  return j;
}

}  // namespace hsr::sim
