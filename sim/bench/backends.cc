#include "sim/bench/backends.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <type_traits>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/attention/dense_hwy.h"
#include "core/attention/dense_ref.h"
#include "core/base/error.h"
#include "core/hsr/hsr_backend.h"
#include "core/index/batch_report.h"
#include "sim/bench/flag_values.h"
#include "sim/stats/summary.h"
#include "verify/cert_check.h"
#if HSR_WITH_BLAS
#include "sim/peers/dense_blas.h"
#endif
#if HSR_WITH_CUDA
#include "gpu/attention/dense_cuda_backend.h"
#include "gpu/base/copy_bandwidth.h"
#include "gpu/base/device.h"
#include "gpu/base/kv_dtype.h"
#include "gpu/hsr/hsr_cuda_backend.h"
#endif


namespace hsr::sim {
namespace {

// reported_mean / _p50 / _p99 of a row from the keys each query row reported (non-empty).
void ReportedColumns(std::vector<double> reported, ResultRow* row) {
  std::sort(reported.begin(), reported.end());
  double sum = 0;
  for (double x : reported) sum += x;
  row->reported_mean = sum / static_cast<double>(reported.size());
  row->reported_p50 = QuantileOfSorted(reported, 0.5);
  row->reported_p99 = QuantileOfSorted(reported, 0.99);
}

// Softmax HSR certificate columns: eps_tau_* and eps_sketch_* over the rows that have them
// (fallbacks excluded), and err_over_cert_max = max over the oracle's sampled rows with eps > 0
// of the measured error over the certified one plus the float32 slack (CheckedBound,
// verify/cert_check.h): <= 1 exactly when the property tests' check would pass.
void SoftmaxCertColumns(const HsrCallStats& st, const WarmupCall& call, ResultRow* row) {
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
  const KvCache& kv = call.kv;
  const ConstHeadsView out = call.out;
  if (out.heads == 0 || kv.heads() == 0) return;
  const size_t group = out.heads / kv.heads(), m = out.rows, dv = out.cols;
  double worst = -1.0;
  std::vector<double> bound(dv);
  for (size_t t = 0; t < call.oracle.rows.size(); ++t) {
    const auto [h, i] = call.oracle.rows[t];
    const HsrRowStats& r = st.rows.at(h * m + i);
    if (!(r.eps > 0.0)) continue;
    const size_t visible = VisibleKeys(row->causal, i, m, kv.n());
    verify::CertificateBounds(kv.v().Head(h / group), visible, r.eps, bound);
    for (size_t c = 0; c < dv; ++c) {
      const double err =
          std::fabs(double{out.Head(h).Row(i)[c]} - call.oracle.expected[t * dv + c]);
      const double tol = call.oracle.tolerance.empty() ? 0.0 : call.oracle.tolerance[t * dv + c];
      worst = std::max(worst, verify::CertificateRatio(err, verify::CheckedBound(bound[c], tol)));
    }
  }
  if (worst >= 0.0) row->err_over_cert_max = worst;
}

// dense-ref and dense-hwy: a ReLU^alpha decode reads K and only the value rows of keys with a
// positive weight, not all of V. bytes_read counts those rows, estimated from the oracle's
// sampled rows (each query row's own; a row shared by a GQA group counts once per query row):
// K + V would overstate the bytes by up to 2x and put the roofline above 1.
class DenseSkipsZeroWeightsBench final : public BenchBackend {
 public:
  using BenchBackend::BenchBackend;

  void Describe(const WarmupCall& call, ResultRow* row, std::vector<std::string>*) const override {
    const verify::OracleSample& o = call.oracle;
    if (!call.decode || !call.relu || o.weighted.empty() || o.total_rows == 0) return;
    double weighted = 0;
    for (size_t w : o.weighted) weighted += static_cast<double>(w);
    const KvCache& kv = call.kv;
    const double rows = static_cast<double>(o.total_rows) / static_cast<double>(o.weighted.size());
    row->bytes_read = static_cast<double>(kv.heads() * kv.n() * kv.d() * sizeof(float)) +
                      rows * weighted * static_cast<double>(kv.dv() * sizeof(float));
  }
};

// hsr-cpu: the decode indexes are built before timing (once); the row reports what
// the engine answered with (its index or the prefill batched report), per-row reported keys,
// candidates, bytes read, b and the softmax certificates of the warm-up call.
class HsrCpuBench final : public BenchBackend {
 public:
  using BenchBackend::BenchBackend;

  std::vector<std::string> Prepare(const BenchSetup& setup, const KvCache& kv) override {
    HsrCpuBackend& hsr = Hsr();
    hsr.SetIndex(setup.index);
    hsr.SetThreshold(setup.threshold);
    hsr.SetPrefillReport(setup.prefill_report);
    uses_policy_ = setup.threshold.has_value();
    if (!setup.decode) return {};  // prefill builds inside each call
    if (setup.progress) {
      setup.progress(fmt::format("{}: building {} index", backend_->Name(), setup.index));
    }
    const double build_us = hsr.Prepare(kv, setup.scale);
    return {fmt::format("{}: {} index built outside timing, {:.1f} ms", backend_->Name(),
                        setup.index, build_us / 1e3)};
  }

  AttentionParams CallParams(const AttentionParams& params) const override {
    AttentionParams p = params;
    if (uses_policy_) p.b_per_query = {};
    return p;
  }

  void Describe(const WarmupCall& call, ResultRow* row,
                std::vector<std::string>* notes) const override {
    const HsrCallStats& hs = static_cast<const HsrCpuBackend&>(*backend_).LastStats();
    row->index = hs.reporter;  // the engine says what reported: its index or the batched report
    row->threshold = hs.threshold;
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
      ReportedColumns(std::move(reported), row);
      row->candidates_mean = cand / rows_n;
      row->bytes_read = bytes;
      row->b = b_sum / rows_n;
      if (!call.relu) {
        row->eps_max = eps_max;
        row->eps_mean = eps_sum / rows_n;
        SoftmaxCertColumns(hs, call, row);
      }
    }
    if (!call.decode) {
      const bool batch_report = hs.reporter == kBatchReportName;
      notes->push_back(fmt::format(
          "{}: prefill {} {:.1f} ms inside the call; reports {}", row->backend,
          batch_report ? "sketch8 key code build (no index is queried)" : "index build",
          hs.build_us / 1e3,
          batch_report ? "by the batched integer screen (Sketch8Index::ReportPrefixBatch)"
                       : "by one index query per row (per-key sketch certificate)"));
    }
  }

 private:
  HsrCpuBackend& Hsr() { return static_cast<HsrCpuBackend&>(*backend_); }
  bool uses_policy_ = false;
};

#if HSR_WITH_CUDA
// GPU backends: K/V are uploaded to the device before timing (each timed call
// still uploads q and downloads out, synchronously); bytes are counted in the storage type and
// set against the device copy roofline measured here. hsr-cuda*: K once per row group plus the
// reported keys' V rows; its device filter is a scan of K (exact), which scores every key.
template <class Gpu>
class CudaBench final : public BenchBackend {
 public:
  using BenchBackend::BenchBackend;

  std::vector<std::string> Prepare(const BenchSetup&, const KvCache& kv) override {
    Gpu& g = static_cast<Gpu&>(*backend_);
    const double upload_us = g.Prepare(kv);
    device_gbs_ = gpu::DeviceCopyGbs();
    return {fmt::format(
        "{}: on {} ({} SMs); K/V uploaded outside timing, {:.1f} ms; device copy roofline "
        "{:.0f} GB/s (read + write); cold samples do not reach device memory (a host cache "
        "flush cannot evict the GPU's L2)",
        backend_->Name(), g.device_name(), g.sm_count(), upload_us / 1e3, device_gbs_)};
  }

  void Describe(const WarmupCall& call, ResultRow* row, std::vector<std::string>*) const override {
    const Gpu& g = static_cast<const Gpu&>(*backend_);
    const KvCache& kv = call.kv;
    const double esize = static_cast<double>(gpu::BytesPerElement(g.dtype()));
    const size_t kv_bytes = kv.heads() * kv.n() * (kv.d() + kv.dv()) * sizeof(float);
    double bytes = static_cast<double>(kv_bytes) * esize / 4.0;
    if constexpr (std::is_same_v<Gpu, gpu::HsrCudaBackend>) {
      row->index = std::string("scan");
      const auto& rep = g.last_reported();
      double sum = 0;
      for (double x : rep) sum += x;
      if (!rep.empty()) {
        ReportedColumns(std::vector<double>(rep.begin(), rep.end()), row);
        row->candidates_mean = static_cast<double>(kv.n());
      }
      bytes = static_cast<double>(g.last_plan().row_groups * kv.heads() * kv.n() * kv.d()) *
                  esize + sum * static_cast<double>(kv.dv()) * esize;
    }
    row->bytes_read = bytes;
    row->read_gbs = device_gbs_;
  }

 private:
  double device_gbs_ = 0;
};
#endif

template <class B>
std::unique_ptr<BenchBackend> Wrap(std::unique_ptr<AttentionBackend> backend) {
  return std::make_unique<B>(std::move(backend));
}

struct Entry {
  const char* name;
  bool multithreaded;
  std::function<std::unique_ptr<AttentionBackend>(size_t threads)> make;
  // The bench's form of the backend (the plain BenchBackend unless it needs more).
  std::unique_ptr<BenchBackend> (*bench)(std::unique_ptr<AttentionBackend>) = Wrap<BenchBackend>;
};

const std::vector<Entry>& Registry() {
  static const std::vector<Entry> entries = {
      {"dense-ref", false, [](size_t) { return std::make_unique<DenseRefBackend>(); },
       Wrap<DenseSkipsZeroWeightsBench>},
      {"dense-hwy", true, [](size_t t) { return std::make_unique<DenseHwyBackend>(t); },
       Wrap<DenseSkipsZeroWeightsBench>},
#if HSR_WITH_BLAS
      // Optional peer (OpenBLAS sgemv/sgemm), for timing against dense-hwy.
      {"dense-blas", true, [](size_t t) { return std::make_unique<DenseBlasBackend>(t); }},
#endif
      // HSR engines (core/hsr): exact ReLU^alpha / certified softmax over reported keys.
      {"hsr-cpu", true, [](size_t t) { return std::make_unique<HsrCpuBackend>(t); },
       Wrap<HsrCpuBench>},
#if HSR_WITH_CUDA
      // gpu/: dense on an NVIDIA GPU, K/V stored as f32 / f16 / bf16 (float32 accumulation).
      // Without a usable device, construction throws "dense-cuda: no CUDA device (...)".
      {"dense-cuda", false,
       [](size_t) { return std::make_unique<gpu::DenseCudaBackend>(gpu::KvDtype::kF32); },
       Wrap<CudaBench<gpu::DenseCudaBackend>>},
      {"dense-cuda-f16", false,
       [](size_t) { return std::make_unique<gpu::DenseCudaBackend>(gpu::KvDtype::kF16); },
       Wrap<CudaBench<gpu::DenseCudaBackend>>},
      {"dense-cuda-bf16", false,
       [](size_t) { return std::make_unique<gpu::DenseCudaBackend>(gpu::KvDtype::kBf16); },
       Wrap<CudaBench<gpu::DenseCudaBackend>>},
      // Exact HSR decode for ReLU^alpha on the GPU (scan filter, compaction, sparse gather).
      {"hsr-cuda", false,
       [](size_t) { return std::make_unique<gpu::HsrCudaBackend>(gpu::KvDtype::kF32); },
       Wrap<CudaBench<gpu::HsrCudaBackend>>},
      {"hsr-cuda-f16", false,
       [](size_t) { return std::make_unique<gpu::HsrCudaBackend>(gpu::KvDtype::kF16); },
       Wrap<CudaBench<gpu::HsrCudaBackend>>},
      {"hsr-cuda-bf16", false,
       [](size_t) { return std::make_unique<gpu::HsrCudaBackend>(gpu::KvDtype::kBf16); },
       Wrap<CudaBench<gpu::HsrCudaBackend>>},
      // The same with the certified int8 sketch8 filter (reads ~1/2 of K's f16 bytes), the
      // scan's exact recheck of its candidates: the same reported set as hsr-cuda*.
      {"hsr-cuda-sketch", false,
       [](size_t) {
         return std::make_unique<gpu::HsrCudaBackend>(gpu::KvDtype::kF32, gpu::HsrFilter::kSketch);
       },
       Wrap<CudaBench<gpu::HsrCudaBackend>>},
      {"hsr-cuda-sketch-f16", false,
       [](size_t) {
         return std::make_unique<gpu::HsrCudaBackend>(gpu::KvDtype::kF16, gpu::HsrFilter::kSketch);
       },
       Wrap<CudaBench<gpu::HsrCudaBackend>>},
      {"hsr-cuda-sketch-bf16", false,
       [](size_t) {
         return std::make_unique<gpu::HsrCudaBackend>(gpu::KvDtype::kBf16,
                                                      gpu::HsrFilter::kSketch);
       },
       Wrap<CudaBench<gpu::HsrCudaBackend>>},
#endif
  };
  return entries;
}

const Entry& Find(std::string_view name) {
  for (const auto& e : Registry()) {
    if (name == e.name) return e;
  }
  Fail("backend: expected one of {}, got '{}'", fmt::join(BackendNames(), ", "), name);
}

}  // namespace

std::vector<std::string> BackendNames() {
  std::vector<std::string> names;
  for (const auto& e : Registry()) names.emplace_back(e.name);
  return names;
}

std::vector<std::string> AvailableBackendNames() {
  std::vector<std::string> names;
  for (const auto& name : BackendNames()) {
#if HSR_WITH_CUDA
    static const bool have_device = !gpu::QueryDevices().devices.empty();
    if (!have_device && (name.rfind("dense-cuda", 0) == 0 || name.rfind("hsr-cuda", 0) == 0)) {
      continue;
    }
#endif
    names.push_back(name);
  }
  return names;
}

std::unique_ptr<AttentionBackend> MakeBackend(std::string_view name, size_t threads) {
  const Entry& e = Find(name);
  HSR_CHECK(threads >= 1, "backend '{}': expected threads >= 1, got {}", name, threads);
  return e.make(threads);
}

BenchBackend::BenchBackend(std::unique_ptr<AttentionBackend> backend)
    : backend_(std::move(backend)) {}
BenchBackend::~BenchBackend() = default;

std::vector<std::string> BenchBackend::Prepare(const BenchSetup&, const KvCache&) {
  return {};
}

AttentionParams BenchBackend::CallParams(const AttentionParams& params) const { return params; }

void BenchBackend::Describe(const WarmupCall&, ResultRow*, std::vector<std::string>*) const {}

std::unique_ptr<BenchBackend> MakeBenchBackend(std::string_view name, size_t threads) {
  return Find(name).bench(MakeBackend(name, threads));
}

size_t BackendThreads(std::string_view name, size_t threads) {
  return Find(name).multithreaded ? threads : 1;
}

std::vector<std::string> ParseBackendList(std::string_view list) {
  return ParseUniqueList(list, "backend", "backend", BackendNames(),
                         [](const std::string& name) { Find(name); });
}

std::string SpeedupBaseline(std::string_view name) {
  if (name == "dense-ref") return "";
  if (name == "dense-hwy") return "dense-ref";
  return "dense-hwy";
}

std::string DefaultBackendList() { return "dense-hwy"; }

std::string CpuTargetName() { return DenseHwyTargetName(); }

}  // namespace hsr::sim
