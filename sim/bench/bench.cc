#include "sim/bench/bench.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "core/attention/kv_cache.h"
#include "core/base/error.h"
#include "core/hsr/decode_engine.h"
#include "sim/bench/backends.h"
#include "sim/machine/build_info.h"
#include "sim/machine/timing.h"
#include "sim/stats/summary.h"
#include "sim/workload/io/npy.h"
#include "verify/oracle_sample.h"

namespace hsr::sim {
namespace {

constexpr double kTargetSampleUs = 1000.0;  // each timing sample lasts about this long
constexpr size_t kMaxCallsPerSample = 1 << 16;

void Progress(const BenchConfig& c, const std::string& s) {
  if (c.progress) c.progress(s);
}

void CheckConfig(const BenchConfig& cfg) {
  HSR_CHECK(cfg.threads >= 1, "bench: expected threads >= 1, got {}", cfg.threads);
  HSR_CHECK(cfg.repeats >= 1, "bench: expected repeats >= 1, got {}", cfg.repeats);
  HSR_CHECK(!cfg.backends.empty(), "bench: expected at least one backend, got none");
}

// The call params every non-HSR backend and the oracle use: with a policy and ReLU, the per-query
// b it gives (hsr::ResolveThresholds, the values hsr-cpu computes itself inside its calls; held
// in b_per_query, which params.b_per_query views), and one note line on the policy's sample.
struct PolicyParams {
  AttentionParams params;
  std::vector<float> b_per_query;
};
PolicyParams ResolvePolicy(const Workload& w, const KvCache& kv, const BenchConfig& cfg,
                           std::vector<std::string>* notes) {
  PolicyParams out{cfg.params, {}};
  if (!cfg.threshold) return out;
  std::vector<ThresholdEstimate> estimates;
  if (out.params.kind == AttentionKind::kRelu) {
    Progress(cfg, "thresholds (" + cfg.threshold->ToString() + ")");
    out.b_per_query = ResolveThresholds(w.q.Heads(), kv, out.params.ScaleFor(w.d),
                                        *cfg.threshold, out.params.causal,
                                        &estimates);
    out.params.b_per_query = out.b_per_query;
  }
  CheckThresholdFor(*cfg.threshold, w.n);
  if (estimates.empty()) return out;
  double b_mean = 0, sigma_mean = 0;
  size_t sample_max = 0;
  for (const auto& e : estimates) {
    b_mean += e.b;
    sigma_mean += e.sigma;
    sample_max = std::max(sample_max, e.sample);
  }
  b_mean /= static_cast<double>(estimates.size());
  sigma_mean /= static_cast<double>(estimates.size());
  notes->push_back(fmt::format(
      "threshold {}: sample up to {} keys per row (seed {}), sigma mean {:.4g}, b mean {:.4g} "
      "over {} rows",
      cfg.threshold->ToString(), sample_max, cfg.threshold->seed, sigma_mean, b_mean,
      estimates.size()));
  return out;
}

// The read roofline for each thread count a backend will use (before the K/V copies exist), and
// for prefill, which is compute bound, the FMA roofline (~0.25 s each).
void MeasureRooflines(const BenchConfig& cfg, MachineFacts* f) {
  for (const auto& name : cfg.backends) {
    const size_t t = BackendThreads(name, cfg.threads);
    if (f->read.count(t)) continue;
    if (cfg.read_cache && cfg.read_cache->count(t)) {
      f->read[t] = cfg.read_cache->at(t);
      continue;
    }
    Progress(cfg, fmt::format("read bandwidth, {} thread(s)", t));
    f->read[t] = MeasureReadBandwidth(t);
    if (cfg.read_cache) (*cfg.read_cache)[t] = f->read[t];
  }
  if (!cfg.prefill) return;
  for (const auto& name : cfg.backends) {
    const size_t t = BackendThreads(name, cfg.threads);
    if (f->fma.count(t)) continue;
    Progress(cfg, fmt::format("FMA peak, {} thread(s)", t));
    f->fma[t] = MeasureFmaPeak(t);
  }
}

// The K/V the timed calls rotate through: with cold K/V, copies whose total exceeds
// max(256 MiB, 8 x LLC) (at most a quarter of memory) when K+V is below 4 x LLC, else the
// workload's own. Next() walks them round-robin across every backend of the point.
class KvCopies {
 public:
  KvCopies(const Workload& w, const KvCache& kv, const BenchConfig& cfg, size_t llc_bytes)
      : bytes_(w.kv_heads * w.n * (w.d + w.dv) * sizeof(float)) {
    size_t copies = 1;
    if (cfg.cold != ColdMode::kOff && bytes_ < 4 * llc_bytes) {
      size_t target = std::max<size_t>(size_t{256} << 20, 8 * llc_bytes);
      const size_t mem = PhysicalMemoryBytes();
      if (mem != 0) target = std::min(target, mem / 4);
      copies = std::max<size_t>(1, (target + bytes_ - 1) / bytes_);
    }
    if (copies == 1) {
      kvs_.push_back(kv);
      return;
    }
    Progress(cfg, fmt::format("{} K/V copies ({:.0f} MiB)", copies,
                              static_cast<double>(copies * bytes_) / (1 << 20)));
    k_pool_ = Tensor(copies * w.kv_heads, w.n, w.d);
    v_pool_ = Tensor(copies * w.kv_heads, w.n, w.dv);
    const size_t k_elems = w.k.size(), v_elems = w.v.size();
    kvs_.reserve(copies);
    for (size_t c = 0; c < copies; ++c) {
      float* kc = k_pool_.data() + c * k_elems;
      float* vc = v_pool_.data() + c * v_elems;
      std::memcpy(kc, w.k.data(), k_elems * sizeof(float));
      std::memcpy(vc, w.v.data(), v_elems * sizeof(float));
      kvs_.emplace_back(ConstHeadsView(kc, w.kv_heads, w.n, w.d),
                        ConstHeadsView(vc, w.kv_heads, w.n, w.dv));
    }
  }

  std::span<const KvCache> all() const { return kvs_; }
  size_t count() const { return kvs_.size(); }
  size_t bytes() const { return bytes_; }  // K + V of one copy, float32
  const KvCache& Next() { return kvs_[next_++ % kvs_.size()]; }

 private:
  size_t bytes_;
  Tensor k_pool_, v_pool_;
  std::vector<KvCache> kvs_;
  size_t next_ = 0;
};

// Per-call times of `repeats` samples, each of enough calls to last ~kTargetSampleUs (calibrated
// on one more call).
std::vector<double> TimeCalls(const std::function<void()>& call, const BenchConfig& cfg,
                              std::string_view name) {
  const double t0 = NowMicros();
  call();
  const double one = std::max(NowMicros() - t0, 0.01);
  const size_t calls = static_cast<size_t>(
      std::clamp(std::ceil(kTargetSampleUs / one), 1.0, static_cast<double>(kMaxCallsPerSample)));
  std::vector<double> per_call_us;
  for (size_t r = 0; r < cfg.repeats; ++r) {
    Progress(cfg, fmt::format("{}: repeat {}/{} ({} call(s) each)", name, r + 1, cfg.repeats,
                              calls));
    const double s0 = NowMicros();
    for (size_t c = 0; c < calls; ++c) call();
    per_call_us.push_back((NowMicros() - s0) / static_cast<double>(calls));
  }
  return per_call_us;
}

// The columns every backend's row shares: where, what, times per query token, K and V bytes of
// one call in float32, errors against the oracle sample.
ResultRow SharedColumns(const Workload& w, const BenchConfig& cfg, const AttentionParams& params,
                        const MachineFacts& f, const std::string& name, size_t threads,
                        const Summary& s, const KvCopies& kvs, const CausalMask& mask) {
  ResultRow row;
  row.commit = f.commit;
  row.host = f.host;
  row.cpu_target = f.cpu_target;
  row.threads = threads;
  row.backend = name;
  row.workload = w.description;
  row.seed = w.seed;
  row.n = w.n;
  row.m = w.m;
  row.d = w.d;
  row.dv = w.dv;
  row.heads = w.q_heads;
  row.kv_heads = w.kv_heads;
  row.mode = cfg.prefill ? "prefill" : "decode";
  row.causal = params.causal;
  row.causal_source = mask.source;
  row.attention = std::string(ToString(params.kind));
  if (params.kind == AttentionKind::kRelu) {
    row.alpha = params.alpha;
    row.threshold = fmt::format("b={}", params.b);
    row.b = params.b;
  }
  if (cfg.threshold) {
    row.threshold = cfg.threshold->ToString();
    if (!params.b_per_query.empty()) {
      double sum = 0;
      for (float b : params.b_per_query) sum += b;
      row.b = sum / static_cast<double>(params.b_per_query.size());  // mean per-query b
    }
  }
  row.scale = params.ScaleFor(w.d);
  const double per_query = 1.0 / static_cast<double>(w.m);
  row.median_us = s.median * per_query;
  row.p10_us = s.p10 * per_query;
  row.p90_us = s.p90 * per_query;
  row.repeats = cfg.repeats;
  row.cold = cfg.cold != ColdMode::kOff;
  row.kv_copies = kvs.count();
  row.bytes_read = static_cast<double>(kvs.bytes());
  row.read_gbs = f.read.at(threads).gbs;
  return row;
}

void ErrorColumns(const verify::OracleSample& oracle, const verify::SampleError& err,
                  const AttentionStats& stats, ResultRow* row) {
  row->max_abs_err = err.max_abs_err;
  row->rel_l2_err = err.rel_l2_err;
  row->oracle_rows = oracle.rows.size();
  row->ambiguous_rows = err.ambiguous_rows;
  row->beyond_tol = err.beyond_tol;
  row->total_rows = oracle.total_rows;
  row->empty_rows = stats.empty_rows;
  row->fallbacks = stats.fallbacks;
}

// Everything the backends of one point share.
struct Point {
  const Workload& w;
  const BenchConfig& cfg;
  const AttentionParams& params;  // with the policy's per-query b (ReLU)
  const KvCache& kv;
  const verify::OracleSample& oracle;
  const MachineFacts& facts;
  const CausalMask& mask;
};

// One backend: prepared outside timing, one untimed warm-up call (its output is checked against
// the oracle and saved), `repeats` timed samples, its row.
ResultRow RunBackend(const Point& pt, const std::string& name, KvCopies& kvs, Tensor& out,
                     std::vector<std::string>* notes) {
  const Workload& w = pt.w;
  const BenchConfig& cfg = pt.cfg;
  const bool decode = !cfg.prefill;
  const size_t threads = BackendThreads(name, cfg.threads);
  const auto backend = MakeBenchBackend(name, threads);
  BenchSetup setup;
  setup.decode = decode;
  setup.scale = pt.params.ScaleFor(w.d);
  setup.index = cfg.index;
  setup.threshold = cfg.threshold;
  setup.progress = cfg.progress;
  for (std::string& note : backend->Prepare(setup, kvs.all())) notes->push_back(std::move(note));
  const AttentionParams call_params = backend->CallParams(pt.params);
  auto call = [&](const KvCache& kv, AttentionStats* st) {
    if (decode) {
      backend->attention().Decode(w.q.Heads(), kv, call_params, out.Heads(), st);
    } else {
      backend->attention().Prefill(w.q.Heads(), kv, call_params, out.Heads(), st);
    }
  };
  Progress(cfg, fmt::format("{}: warm-up", name));
  out.Zero();
  AttentionStats stats;
  call(kvs.Next(), &stats);
  const verify::SampleError err = verify::CompareToSample(pt.oracle, out.Heads());
  if (!cfg.save_output_prefix.empty()) {
    WriteNpy(fmt::format("{}.{}.npy", cfg.save_output_prefix, name), {w.q_heads, w.m, w.dv},
             out.flat());
  }
  const Summary s = Summarize(TimeCalls([&] { call(kvs.Next(), nullptr); }, cfg, name));

  ResultRow row = SharedColumns(w, cfg, pt.params, pt.facts, name, threads, s, kvs, pt.mask);
  ErrorColumns(pt.oracle, err, stats, &row);
  const WarmupCall warm{pt.kv, out.Heads(), pt.oracle, decode,
                        pt.params.kind == AttentionKind::kRelu};
  backend->Describe(warm, &row, notes);
  row.gbs = *row.bytes_read / (s.median * 1e3);
  row.roofline_frac = *row.read_gbs > 0 ? std::optional<double>(*row.gbs / *row.read_gbs)
                                        : std::nullopt;
  return row;
}

void SetSpeedups(std::vector<ResultRow>* rows) {
  for (auto& row : *rows) {
    const std::string base = SpeedupBaseline(row.backend);
    for (const auto& other : *rows) {
      if (!base.empty() && other.backend == base && row.median_us > 0) {
        row.speedup = other.median_us / row.median_us;
        row.speedup_vs = base;
      }
    }
  }
}

// Dense prefill rows against the FMA roofline: 2 (d + dv) flops per visible (query, key) pair
// (the two products; softmax's exp and the rescaling are not counted), per query head. HSR rows
// skip most of those flops, so a fraction of peak would say nothing about them.
void FmaNotes(const Workload& w, const AttentionParams& params, BenchResult* res) {
  double pairs = 0;
  for (size_t i = 0; i < w.m; ++i) {
    pairs += static_cast<double>(VisibleKeys(params.causal, i, w.m, w.n));
  }
  const double flops =
      pairs * static_cast<double>(w.q_heads) * 2.0 * static_cast<double>(w.d + w.dv);
  for (const ResultRow& row : res->rows) {
    const auto it = res->facts.fma.find(row.threads);
    if (it == res->facts.fma.end() || !(row.median_us > 0) ||
        row.backend.rfind("dense-", 0) != 0) {
      continue;
    }
    const double gflops = flops / (row.median_us * static_cast<double>(w.m) * 1e3);
    res->notes.push_back(fmt::format(
        "{}: {:.1f} GFLOP/s = {:.2f} of the FMA peak measured in this run ({:.1f} GFLOP/s with "
        "{} thread(s), best of {} passes, median {:.1f}; 2 (d + dv) flops per visible pair)",
        row.backend, gflops, gflops / it->second.gflops, it->second.gflops, row.threads,
        it->second.passes, it->second.median_gflops));
  }
}

}  // namespace

MachineFacts ThisMachine() {
  MachineFacts f;
  f.host = HostName();
  f.cpu_model = CpuModel();
  f.commit = BuildCommit();
  f.cpu_target = CpuTargetName();
  f.llc_bytes = LastLevelCacheBytes();
  return f;
}

CausalMask ResolveCausalMask(const Workload& w, std::optional<bool> flag) {
  if (flag) return {*flag, "flag"};
  return {w.causal, w.recorded ? "workload" : "default"};
}

BenchResult RunBench(const Workload& w, const BenchConfig& config) {
  CheckConfig(config);
  BenchResult res;
  res.causal = ResolveCausalMask(w, config.causal);
  BenchConfig cfg = config;
  cfg.params.causal = res.causal.on;
  // The scale the data was made for (a recording's manifest) unless --scale says otherwise.
  if (!cfg.params.scale && w.scale > 0) cfg.params.scale = w.scale;
  res.facts = ThisMachine();
  const KvCache kv(w.k.Heads(), w.v.Heads());  // validates K and V once
  const bool decode = !cfg.prefill;
  const PolicyParams policy = ResolvePolicy(w, kv, cfg, &res.notes);
  const AttentionParams& params = policy.params;
  Progress(cfg, "oracle (float64, sampled rows)");
  const verify::OracleSample oracle = verify::ComputeOracleSample(
      w.q.Heads(), kv, params, cfg.oracle_budget_macs, cfg.threads);
  MeasureRooflines(cfg, &res.facts);
  KvCopies kvs(w, kv, cfg, res.facts.llc_bytes);
  res.cold = cfg.cold != ColdMode::kOff;
  res.kv_copies = kvs.count();
  const Point point{w, cfg, params, kv, oracle, res.facts, res.causal};
  Tensor out(w.q_heads, w.m, w.dv);
  for (const auto& name : cfg.backends) {
    res.rows.push_back(RunBackend(point, name, kvs, out, &res.notes));
  }
  SetSpeedups(&res.rows);
  if (!decode) FmaNotes(w, params, &res);
  return res;
}

}  // namespace hsr::sim
