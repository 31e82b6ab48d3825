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
#include "sim/machine/cache_evict.h"
#include "sim/machine/timing.h"
#include "sim/stats/summary.h"
#include "sim/workload/io/npy.h"
#include "verify/oracle_sample.h"
#include "verify/targets.h"

namespace hsr::sim {
namespace {

constexpr double kTargetSampleUs = 1000.0;  // each timing sample lasts about this long
constexpr size_t kMaxCallsPerSample = 1 << 16;

void Progress(const BenchConfig& c, const std::string& s) {
  if (c.progress) c.progress(s);
}

void CheckConfig(const BenchConfig& cfg) {
  HSR_CHECK(cfg.threads >= 1, "bench: expected threads >= 1, got {}", cfg.threads);
  CheckSamplingRule(cfg.sampling);
  HSR_CHECK(!cfg.backends.empty(), "bench: expected at least one backend, got none");
  if (!cfg.target.unavailable.empty()) RequireTarget(cfg.target.name);  // the one-line error
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

// The read roofline for each thread count a backend will use (before the backends exist), and
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

// One sample of a prepared call: cold, the caches are flushed of everything the call reads
// (outside the timed part) and one call is timed; warm, `calls` back-to-back calls are timed.
// Returns microseconds per call.
double TimeSample(const std::function<void()>& call, size_t calls,
                  const std::function<void()>& evict) {
  if (evict) evict();
  const double s0 = NowMicros();
  for (size_t c = 0; c < calls; ++c) call();
  return (NowMicros() - s0) / static_cast<double>(calls);
}

// Calls per warm sample: enough to last ~kTargetSampleUs, from one more call's time.
size_t WarmCalls(const std::function<void()>& call) {
  const double t0 = NowMicros();
  call();
  const double one = std::max(NowMicros() - t0, 0.01);
  return static_cast<size_t>(
      std::clamp(std::ceil(kTargetSampleUs / one), 1.0, static_cast<double>(kMaxCallsPerSample)));
}

// The columns every backend's row shares: where, what, times per query token, K and V bytes of
// one call in float32, errors against the oracle sample.
ResultRow SharedColumns(const Workload& w, const BenchConfig& cfg, const AttentionParams& params,
                        const MachineFacts& f, const std::string& name, size_t threads,
                        const Summary& s, const CausalMask& mask) {
  ResultRow row;
  row.commit = f.commit;
  row.host = f.host;
  row.cpu_target = f.cpu_target;
  row.target = cfg.target.name;
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
  row.repeats = cfg.sampling.min_rounds;
  row.samples = s.count;
  row.cold = cfg.cold != ColdMode::kOff;
  row.bytes_read = static_cast<double>(w.kv_heads * w.n * (w.d + w.dv) * sizeof(float));
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

// One backend of the point, prepared outside timing (hsr-cpu's indexes built), with the untimed
// warm-up call's output checked against the oracle (and saved).
struct Prepared {
  std::string name;
  size_t threads = 1;
  std::unique_ptr<BenchBackend> backend;
  AttentionParams call_params;
  AttentionStats stats;  // of the warm-up call
  verify::SampleError err;
  std::function<void()> call;  // one timed call
};

std::unique_ptr<Prepared> PrepareBackend(const Point& pt, const std::string& name, Tensor& out,
                                         std::vector<std::string>* notes) {
  const Workload& w = pt.w;
  const BenchConfig& cfg = pt.cfg;
  const bool decode = !cfg.prefill;
  auto p = std::make_unique<Prepared>();
  p->name = name;
  p->threads = BackendThreads(name, cfg.threads);
  p->backend = MakeBenchBackend(name, p->threads);
  BenchSetup setup;
  setup.decode = decode;
  setup.scale = pt.params.ScaleFor(w.d);
  setup.index = cfg.index;
  setup.threshold = cfg.threshold;
  setup.prefill_report = cfg.prefill_report;
  setup.progress = cfg.progress;
  for (std::string& note : p->backend->Prepare(setup, pt.kv)) notes->push_back(std::move(note));
  p->call_params = p->backend->CallParams(pt.params);
  Prepared* raw = p.get();
  auto call = [raw, &w, &pt, &out, decode](AttentionStats* st) {
    AttentionBackend& b = raw->backend->attention();
    if (decode) {
      b.Decode(w.q.Heads(), pt.kv, raw->call_params, out.Heads(), st);
    } else {
      b.Prefill(w.q.Heads(), pt.kv, raw->call_params, out.Heads(), st);
    }
  };
  Progress(cfg, fmt::format("{}: warm-up", name));
  out.Zero();
  call(&p->stats);
  p->err = verify::CompareToSample(pt.oracle, out.Heads());
  if (!cfg.save_output_prefix.empty()) {
    WriteNpy(fmt::format("{}.{}.npy", cfg.save_output_prefix, name), {w.q_heads, w.m, w.dv},
             out.flat());
  }
  p->call = [call] { call(nullptr); };
  return p;
}

// The row of one prepared backend from its samples.
ResultRow BackendRow(const Point& pt, const Prepared& p, const std::vector<double>& samples,
                     const Tensor& out, std::vector<std::string>* notes) {
  const Summary s = Summarize(samples);
  ResultRow row = SharedColumns(pt.w, pt.cfg, pt.params, pt.facts, p.name, p.threads, s, pt.mask);
  ErrorColumns(pt.oracle, p.err, p.stats, &row);
  const WarmupCall warm{pt.kv, out.Heads(), pt.oracle, !pt.cfg.prefill,
                        pt.params.kind == AttentionKind::kRelu};
  p.backend->Describe(warm, &row, notes);
  row.gbs = *row.bytes_read / (s.median * 1e3);
  row.roofline_frac = *row.read_gbs > 0 ? std::optional<double>(*row.gbs / *row.read_gbs)
                                        : std::nullopt;
  return row;
}

// (unit, baseline) for every backend whose SpeedupBaseline is in the point.
std::vector<SpeedupPair> SpeedupPairs(const std::vector<std::string>& names) {
  std::vector<SpeedupPair> pairs;
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string base = SpeedupBaseline(names[i]);
    for (size_t j = 0; j < names.size(); ++j) {
      if (!base.empty() && names[j] == base) pairs.emplace_back(i, j);
    }
  }
  return pairs;
}

// Speedup = median of the per-round ratios, with its order-statistic interval (sampling.h).
void SetSpeedups(const PairedSamples& samples, std::span<const SpeedupPair> pairs, double level,
                 std::vector<ResultRow>* rows) {
  for (const SpeedupPair& pair : pairs) {
    ResultRow& row = (*rows)[pair.first];
    const std::vector<double> ratios = PairRatios(samples, pair);
    row.speedup = Quantile(ratios, 0.5);
    row.speedup_vs = (*rows)[pair.second].backend;
    if (const auto m = MedianConfidence(ratios, level)) {
      row.speedup_lo = m->lo;
      row.speedup_hi = m->hi;
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
  // The whole point under the chosen target: thresholds, index builds and timed calls alike.
  const verify::ForceTarget force(config.target.bits);
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
  const Point point{w, cfg, params, kv, oracle, res.facts, res.causal};
  Tensor out(w.q_heads, w.m, w.dv);
  std::vector<std::unique_ptr<Prepared>> backends;
  for (const auto& name : cfg.backends) {
    backends.push_back(PrepareBackend(point, name, out, &res.notes));
  }

  // Cold: what every sample evicts first, gathered anew each time (Buffers() is valid until the
  // next call).
  res.cold = cfg.cold != ColdMode::kOff;
  const auto cold_ranges = [&] {
    const auto bytes = [](const Tensor& t) { return std::as_bytes(t.flat()); };
    std::vector<std::span<const std::byte>> ranges = {bytes(w.k), bytes(w.v), bytes(w.q),
                                                      bytes(out)};
    for (const auto& b : backends) {
      for (const auto r : b->backend->attention().Buffers()) ranges.push_back(r);
    }
    return ranges;
  };
  std::function<void()> evict;
  if (res.cold) {
    evict = [&] { EvictFromCaches(cold_ranges()); };
    for (const auto r : cold_ranges()) res.cold_bytes += static_cast<double>(r.size());
  }
  std::vector<std::function<double()>> units;
  for (const auto& b : backends) {
    const size_t calls = res.cold ? 1 : WarmCalls(b->call);
    units.push_back([&b, calls, &evict] { return TimeSample(b->call, calls, evict); });
  }
  const std::vector<SpeedupPair> pairs = SpeedupPairs(cfg.backends);
  double last_progress = 0;
  const PairedSamples samples = SamplePaired(
      units, pairs, cfg.sampling, [] { return NowMicros() * 1e-6; },
      [&](size_t rounds) {
        const double now = NowMicros();
        if (now - last_progress < 2e5) return;
        last_progress = now;
        Progress(cfg, fmt::format("sampling {} backend(s) in alternation: round {}", units.size(),
                                  rounds));
      });
  res.rounds = samples.rounds;
  res.sampling_s = samples.seconds;
  res.converged = samples.converged;
  for (size_t i = 0; i < backends.size(); ++i) {
    res.rows.push_back(BackendRow(point, *backends[i], samples.samples[i], out, &res.notes));
  }
  SetSpeedups(samples, pairs, cfg.sampling.level, &res.rows);
  if (!decode) FmaNotes(w, params, &res);
  return res;
}

}  // namespace hsr::sim
