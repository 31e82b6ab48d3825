#include "sim/bench/bench.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>

#include <fmt/format.h>

#include "core/attention/kv_cache.h"
#include "core/base/error.h"
#include "core/hsr/decode_engine.h"
#include "core/hsr/hsr_backend.h"
#include "core/index/batch_report.h"
#include "sim/bench/backends.h"
#include "sim/machine/build_info.h"
#include "sim/machine/timing.h"
#include "sim/stats/summary.h"
#include "sim/workload/io/npy.h"
#include "verify/cert_check.h"
#include "verify/oracle_sample.h"
#if HSR_WITH_CUDA
#include "gpu/attention/dense_cuda_backend.h"
#include "gpu/base/copy_bandwidth.h"
#include "gpu/hsr/hsr_cuda_backend.h"
#endif

namespace hsr::sim {
namespace {

constexpr double kTargetSampleUs = 1000.0;  // each timing sample lasts about this long
constexpr size_t kMaxCallsPerSample = 1 << 16;

void Progress(const BenchConfig& c, const std::string& s) {
  if (c.progress) c.progress(s);
}

// reported_mean / _p50 / _p99 of a row from the keys each query row reported (non-empty).
void ReportedColumns(std::vector<double> reported, ResultRow* row) {
  std::sort(reported.begin(), reported.end());
  double sum = 0;
  for (double x : reported) sum += x;
  row->reported_mean = sum / static_cast<double>(reported.size());
  row->reported_p50 = QuantileOfSorted(reported, 0.5);
  row->reported_p99 = QuantileOfSorted(reported, 0.99);
}

// Result-row columns of one softmax HSR call (hsr bench): eps_tau_* and eps_sketch_* over the
// rows that have them (fallbacks excluded), and err_over_cert_max = max over the oracle's
// sampled rows with eps > 0 of the measured error over the certified one (verify/cert_check.h).
void SoftmaxCertColumns(const HsrCallStats& st, const verify::OracleSample& oracle,
                        const KvCache& kv, ConstHeadsView out, bool decode, ResultRow* row) {
  double tau_max = 0, tau_sum = 0, sk_max = 0, sk_sum = 0;
  size_t rows = 0, sk_rows = 0;
  for (const HsrRowStats& r : st.rows) {
    if (r.fallback || r.empty) continue;
    ++rows;
    tau_max = std::max(tau_max, r.eps_tau);
    tau_sum += r.eps_tau;
    if (r.eps_sketch >= 0) {
      ++sk_rows;
      sk_max = std::max(sk_max, r.eps_sketch);
      sk_sum += r.eps_sketch;
    }
  }
  if (rows > 0) {
    row->eps_tau_max = tau_max;
    row->eps_tau_mean = tau_sum / static_cast<double>(rows);
  }
  if (sk_rows > 0) {
    row->eps_sketch_max = sk_max;
    row->eps_sketch_mean = sk_sum / static_cast<double>(sk_rows);
  }
  if (out.heads == 0 || kv.heads() == 0) return;
  const size_t group = out.heads / kv.heads(), m = out.rows, dv = out.cols;
  double worst = -1.0;
  std::vector<double> bound(dv);
  for (size_t t = 0; t < oracle.rows.size(); ++t) {
    const auto [h, i] = oracle.rows[t];
    const HsrRowStats& r = st.rows.at(h * m + i);
    if (!(r.eps > 0.0)) continue;
    const size_t visible = VisibleKeys(!decode && row->causal, i, m, kv.n());
    verify::CertificateBounds(kv.v().Head(h / group), visible, r.eps, bound);
    for (size_t c = 0; c < dv; ++c) {
      const double err = std::fabs(double{out.Head(h).Row(i)[c]} - oracle.expected[t * dv + c]);
      worst = std::max(worst, verify::CertificateRatio(err, bound[c]));
    }
  }
  if (worst >= 0.0) row->err_over_cert_max = worst;
}

}  // namespace

BenchResult RunBench(const Workload& w, const BenchConfig& cfg) {
  HSR_CHECK(cfg.threads >= 1, "bench: expected threads >= 1, got {}", cfg.threads);
  HSR_CHECK(cfg.repeats >= 1, "bench: expected repeats >= 1, got {}", cfg.repeats);
  HSR_CHECK(!cfg.backends.empty(), "bench: expected at least one backend, got none");
  BenchResult res;
  MachineFacts& f = res.facts;
  f.host = HostName();
  f.cpu_model = CpuModel();
  f.commit = BuildCommit();
  f.cpu_target = CpuTargetName();
  f.llc_bytes = LastLevelCacheBytes();

  const KvCache kv0(w.k.Heads(), w.v.Heads());  // validates K and V once
  const bool decode = !cfg.prefill;
  // Threshold policy: per-query b for every non-HSR backend and the oracle (ReLU).
  AttentionParams params = cfg.params;
  std::vector<float> b_per_query;
  std::vector<ThresholdEstimate> estimates;
  if (cfg.threshold && params.kind == AttentionKind::kRelu) {
    Progress(cfg, "thresholds (" + cfg.threshold->ToString() + ")");
    b_per_query = ResolveThresholds(w.q.Heads(), kv0, params.ScaleFor(w.d), *cfg.threshold,
                                    !decode && params.causal, &estimates);
    params.b_per_query = b_per_query;
  }
  if (cfg.threshold) {
    CheckThresholdFor(*cfg.threshold, w.n);
    if (!estimates.empty()) {
      double b_mean = 0, sigma_mean = 0;
      size_t sample_max = 0;
      for (const auto& e : estimates) {
        b_mean += e.b;
        sigma_mean += e.sigma;
        sample_max = std::max(sample_max, e.sample);
      }
      b_mean /= static_cast<double>(estimates.size());
      sigma_mean /= static_cast<double>(estimates.size());
      res.notes.push_back(fmt::format(
          "threshold {}: sample up to {} keys per row (seed {}), sigma mean {:.4g}, b mean {:.4g} "
          "over {} rows",
          cfg.threshold->ToString(), sample_max, cfg.threshold->seed, sigma_mean, b_mean,
          estimates.size()));
    }
  }
  Progress(cfg, "oracle (float64, sampled rows)");
  const verify::OracleSample oracle = verify::ComputeOracleSample(w.q.Heads(), kv0, params, decode,
                                                  cfg.oracle_budget_macs, cfg.threads);

  // Read roofline for each thread count a backend will use (before the K/V copies exist).
  for (const auto& name : cfg.backends) {
    const size_t t = BackendThreads(name, cfg.threads);
    if (f.read.count(t)) continue;
    if (cfg.read_cache && cfg.read_cache->count(t)) {
      f.read[t] = cfg.read_cache->at(t);
      continue;
    }
    Progress(cfg, fmt::format("read bandwidth, {} thread(s)", t));
    f.read[t] = MeasureReadBandwidth(t);
    if (cfg.read_cache) (*cfg.read_cache)[t] = f.read[t];
  }
  // Prefill is compute bound: its FMA roofline, per thread count (~0.25 s each).
  if (!decode) {
    for (const auto& name : cfg.backends) {
      const size_t t = BackendThreads(name, cfg.threads);
      if (f.fma.count(t)) continue;
      Progress(cfg, fmt::format("FMA peak, {} thread(s)", t));
      f.fma[t] = MeasureFmaPeak(t);
    }
  }

  // Cold K/V: rotate through copies whose total exceeds the caches.
  const size_t kv_bytes = w.kv_heads * w.n * (w.d + w.dv) * sizeof(float);
  res.cold = cfg.cold != ColdMode::kOff;
  size_t copies = 1;
  if (res.cold && kv_bytes < 4 * f.llc_bytes) {
    size_t target = std::max<size_t>(size_t{256} << 20, 8 * f.llc_bytes);
    const size_t mem = PhysicalMemoryBytes();
    if (mem != 0) target = std::min(target, mem / 4);
    copies = std::max<size_t>(1, (target + kv_bytes - 1) / kv_bytes);
  }
  res.kv_copies = copies;
  Tensor k_pool, v_pool;
  std::vector<KvCache> kvs;
  if (copies == 1) {
    kvs.push_back(kv0);
  } else {
    Progress(cfg, fmt::format("{} K/V copies ({:.0f} MiB)", copies,
                              static_cast<double>(copies * kv_bytes) / (1 << 20)));
    k_pool = Tensor(copies * w.kv_heads, w.n, w.d);
    v_pool = Tensor(copies * w.kv_heads, w.n, w.dv);
    const size_t k_elems = w.k.size(), v_elems = w.v.size();
    kvs.reserve(copies);
    for (size_t c = 0; c < copies; ++c) {
      float* kc = k_pool.data() + c * k_elems;
      float* vc = v_pool.data() + c * v_elems;
      std::memcpy(kc, w.k.data(), k_elems * sizeof(float));
      std::memcpy(vc, w.v.data(), v_elems * sizeof(float));
      kvs.emplace_back(ConstHeadsView(kc, w.kv_heads, w.n, w.d),
                       ConstHeadsView(vc, w.kv_heads, w.n, w.dv));
    }
  }

  const bool relu = params.kind == AttentionKind::kRelu;
  Tensor out(w.q_heads, w.m, w.dv);
  size_t next_copy = 0;
  for (const auto& name : cfg.backends) {
    const size_t threads = BackendThreads(name, cfg.threads);
    auto backend = MakeBackend(name, threads);
    auto* hsr_backend = dynamic_cast<HsrCpuBackend*>(backend.get());
    AttentionParams call_params = params;
    if (hsr_backend) {
      // hsr-cpu resolves the policy itself (same values) inside the timed call; its decode
      // indexes are built here, for every K/V copy, outside timing.
      hsr_backend->SetIndex(cfg.index);
      hsr_backend->SetThreshold(cfg.threshold);
      if (cfg.threshold) call_params.b_per_query = {};
      if (decode) {
        double build_us = 0;
        for (size_t c = 0; c < kvs.size(); ++c) {
          Progress(cfg, fmt::format("{}: building {} index {}/{}", name, cfg.index, c + 1,
                                    kvs.size()));
          build_us += hsr_backend->Prepare(kvs[c], params.ScaleFor(w.d));
        }
        res.notes.push_back(fmt::format(
            "{}: {} index built outside timing, {:.1f} ms per K/V copy ({} copies)", name,
            cfg.index, build_us / 1e3 / static_cast<double>(kvs.size()), kvs.size()));
      }
    }
#if HSR_WITH_CUDA
    // GPU backends: K/V are uploaded to the device for every copy here, outside timing; each
    // timed call still uploads q and downloads out (synchronous).
    auto* cuda_backend = dynamic_cast<gpu::DenseCudaBackend*>(backend.get());
    auto* hsr_cuda = dynamic_cast<gpu::HsrCudaBackend*>(backend.get());
    double device_gbs = 0;
    if (cuda_backend || hsr_cuda) {
      double upload_us = 0;
      for (const KvCache& kv : kvs) {
        upload_us += cuda_backend ? cuda_backend->Prepare(kv) : hsr_cuda->Prepare(kv);
      }
      device_gbs = gpu::DeviceCopyGbs();
      res.notes.push_back(fmt::format(
          "{}: on {} ({} SMs); K/V uploaded outside timing, {:.1f} ms per copy; device copy "
          "roofline {:.0f} GB/s (read + write)",
          name, cuda_backend ? cuda_backend->device_name() : hsr_cuda->device_name(),
          cuda_backend ? cuda_backend->sm_count() : hsr_cuda->sm_count(),
          upload_us / 1e3 / static_cast<double>(kvs.size()), device_gbs));
    }
#endif
    auto call = [&](const KvCache& kv, AttentionStats* st) {
      if (decode) {
        backend->Decode(w.q.Heads(), kv, call_params, out.Heads(), st);
      } else {
        backend->Prefill(w.q.Heads(), kv, call_params, out.Heads(), st);
      }
    };
    // Warm-up: untimed; its output is checked and saved.
    Progress(cfg, fmt::format("{}: warm-up", name));
    out.Zero();
    AttentionStats stats;
    call(kvs[next_copy++ % copies], &stats);
    const verify::SampleError err = verify::CompareToSample(oracle, out.Heads());
    if (!cfg.save_output_prefix.empty()) {
      WriteNpy(fmt::format("{}.{}.npy", cfg.save_output_prefix, name), {w.q_heads, w.m, w.dv},
               out.flat());
    }
    // Calibrate calls per sample from one more timed call.
    const double t0 = NowMicros();
    call(kvs[next_copy++ % copies], nullptr);
    const double one = std::max(NowMicros() - t0, 0.01);
    const size_t calls = static_cast<size_t>(
        std::clamp(std::ceil(kTargetSampleUs / one), 1.0, static_cast<double>(kMaxCallsPerSample)));
    std::vector<double> per_call_us;
    for (size_t r = 0; r < cfg.repeats; ++r) {
      Progress(cfg, fmt::format("{}: repeat {}/{} ({} call(s) each)", name, r + 1, cfg.repeats,
                                calls));
      const double s0 = NowMicros();
      for (size_t c = 0; c < calls; ++c) call(kvs[next_copy++ % copies], nullptr);
      per_call_us.push_back((NowMicros() - s0) / static_cast<double>(calls));
    }
    const Summary s = Summarize(per_call_us);

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
    row.mode = decode ? "decode" : "prefill";
    row.causal = !decode && params.causal;
    row.attention = std::string(ToString(params.kind));
    if (relu) {
      row.alpha = params.alpha;
      row.threshold = fmt::format("b={}", params.b);
      row.b = params.b;
    }
    if (cfg.threshold) {
      row.threshold = cfg.threshold->ToString();
      if (!b_per_query.empty()) {
        double sum = 0;
        for (float b : b_per_query) sum += b;
        row.b = sum / static_cast<double>(b_per_query.size());  // mean per-query b
      }
    }
    row.scale = params.ScaleFor(w.d);
    const double per_query = 1.0 / static_cast<double>(w.m);
    row.median_us = s.median * per_query;
    row.p10_us = s.p10 * per_query;
    row.p90_us = s.p90 * per_query;
    row.repeats = cfg.repeats;
    row.cold = res.cold;
    row.kv_copies = copies;
    row.bytes_read = static_cast<double>(kv_bytes);
    row.gbs = static_cast<double>(kv_bytes) / (s.median * 1e3);
    row.read_gbs = f.read.at(threads).gbs;
    row.roofline_frac = *row.gbs / *row.read_gbs;
    row.max_abs_err = err.max_abs_err;
    row.rel_l2_err = err.rel_l2_err;
    row.oracle_rows = oracle.rows.size();
    row.ambiguous_rows = err.ambiguous_rows;
    row.beyond_tol = err.beyond_tol;
    row.total_rows = oracle.total_rows;
    row.empty_rows = stats.empty_rows;
    row.fallbacks = stats.fallbacks;
#if HSR_WITH_CUDA
    if (cuda_backend || hsr_cuda) {  // bytes in the storage type; roofline: device copy rate
      const double esize = static_cast<double>(
          gpu::BytesPerElement(cuda_backend ? cuda_backend->dtype() : hsr_cuda->dtype()));
      double bytes = static_cast<double>(kv_bytes) * esize / 4.0;
      if (hsr_cuda) {  // K once per row group, V of reported keys only
        row.index = std::string("scan");  // the device filter: a scan of K, exact
        const auto& rep = hsr_cuda->last_reported();
        double sum = 0;
        for (double x : rep) sum += x;
        if (!rep.empty()) {
          ReportedColumns(std::vector<double>(rep.begin(), rep.end()), &row);
          row.candidates_mean = static_cast<double>(w.n);  // the scan filter scores every key
        }
        bytes = static_cast<double>(hsr_cuda->last_plan().row_groups * w.kv_heads * w.n * w.d) *
                    esize + sum * static_cast<double>(w.dv) * esize;
      }
      row.bytes_read = bytes;
      row.gbs = bytes / (s.median * 1e3);
      row.read_gbs = device_gbs;
      row.roofline_frac = device_gbs > 0 ? std::optional<double>(*row.gbs / device_gbs)
                                         : std::nullopt;
    }
#endif
    if (hsr_backend) {
      // Per-row facts of the warm-up call (the one whose output is checked).
      const HsrCallStats& hs = hsr_backend->LastStats();
      // The engine says what reported: its index, or the prefill batched report.
      row.index = hs.reporter;
      const bool batch_report = hs.reporter == kBatchReportName;
      row.threshold = hs.threshold;
      std::vector<double> reported;
      double cand = 0, bytes = 0, eps_max = 0, eps_sum = 0, b_sum = 0;
      for (const auto& r : hs.rows) {
        reported.push_back(r.reported);
        cand += static_cast<double>(r.candidates);
        bytes += static_cast<double>(r.bytes_read);
        eps_max = std::max(eps_max, r.eps);
        eps_sum += r.eps;
        b_sum += r.b;
      }
      if (!reported.empty()) {
        const double rows_n = static_cast<double>(reported.size());
        ReportedColumns(std::move(reported), &row);
        row.candidates_mean = cand / rows_n;
        row.bytes_read = bytes;
        row.gbs = bytes / (s.median * 1e3);
        row.roofline_frac = *row.gbs / *row.read_gbs;
        row.b = b_sum / rows_n;
        if (!relu) {
          row.eps_max = eps_max;
          row.eps_mean = eps_sum / rows_n;
          SoftmaxCertColumns(hs, oracle, kv0, out.Heads(), decode, &row);
        }
      }
      if (!decode) {
        res.notes.push_back(fmt::format(
            "{}: prefill {} {:.1f} ms inside the call; reports {}",
            name, batch_report ? "key pass (norm bound; no index is built)" : "index build",
            hs.build_us / 1e3,
            batch_report ? "by the batched tile report (core/index/batch_report.h)"
                 : "by one index query per row (per-key sketch certificate)"));
      }
    }
    res.rows.push_back(std::move(row));
  }
  for (auto& row : res.rows) {
    const std::string base = SpeedupBaseline(row.backend);
    for (const auto& other : res.rows) {
      if (!base.empty() && other.backend == base && row.median_us > 0) {
        row.speedup = other.median_us / row.median_us;
        row.speedup_vs = base;
      }
    }
  }
  // Dense prefill rows against the FMA roofline: 2 (d + dv) flops per visible (query, key) pair
  // (the two products; softmax's exp and the rescaling are not counted), per query head. HSR
  // rows skip most of those flops, so a fraction of peak would say nothing about them.
  if (!decode) {
    double pairs = 0;
    for (size_t i = 0; i < w.m; ++i) pairs += static_cast<double>(VisibleKeys(params.causal, i, w.m, w.n));
    const double flops = pairs * static_cast<double>(w.q_heads) * 2.0 * static_cast<double>(w.d + w.dv);
    for (const ResultRow& row : res.rows) {
      const auto it = f.fma.find(row.threads);
      if (it == f.fma.end() || !(row.median_us > 0) || row.backend.rfind("dense-", 0) != 0) {
        continue;
      }
      const double gflops = flops / (row.median_us * static_cast<double>(w.m) * 1e3);
      res.notes.push_back(fmt::format(
          "{}: {:.1f} GFLOP/s = {:.2f} of the FMA peak measured in this run ({:.1f} GFLOP/s with "
          "{} thread(s), best of {} passes, median {:.1f}; 2 (d + dv) flops per visible pair)",
          row.backend, gflops, gflops / it->second.gflops, it->second.gflops, row.threads,
          it->second.passes, it->second.median_gflops));
    }
  }
  return res;
}

}  // namespace hsr::sim
