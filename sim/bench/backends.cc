#include "sim/bench/backends.h"

#include <algorithm>
#include <functional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/attention/dense_ref.h"
#include "core/base/error.h"
#include "core/hsr/hsr_backend.h"
#include "sim/bench/flag_values.h"
#include "sim/machine/bandwidth.h"
#if HSR_WITH_BLAS
#include "sim/peers/dense_blas.h"
#endif
#if HSR_WITH_CUDA
#include "gpu/attention/dense_cuda_backend.h"
#include "gpu/base/device.h"
#include "gpu/hsr/hsr_cuda_backend.h"
#endif

// dense-hwy joins as soon as its header exists (it is written in parallel with this file).
#if __has_include("core/attention/dense_hwy.h")
#include "core/attention/dense_hwy.h"
#define HSR_HAVE_DENSE_HWY 1
#else
#define HSR_HAVE_DENSE_HWY 0
#endif

namespace hsr::sim {
namespace {

struct Entry {
  const char* name;
  bool multithreaded;
  std::function<std::unique_ptr<AttentionBackend>(size_t threads)> make;
};

const std::vector<Entry>& Registry() {
  static const std::vector<Entry> entries = {
      {"dense-ref", false, [](size_t) { return std::make_unique<DenseRefBackend>(); }},
#if HSR_HAVE_DENSE_HWY
      {"dense-hwy", true, [](size_t t) { return std::make_unique<DenseHwyBackend>(t); }},
#endif
#if HSR_WITH_BLAS
      // Optional peer (OpenBLAS sgemv/sgemm), for timing against dense-hwy.
      {"dense-blas", true, [](size_t t) { return std::make_unique<DenseBlasBackend>(t); }},
#endif
      // HSR engines (core/hsr): exact ReLU^alpha / certified softmax over reported keys.
      {"hsr-cpu", true, [](size_t t) { return std::make_unique<HsrCpuBackend>(t); }},
      // GPU backends register here under #if HSR_WITH_CUDA.
#if HSR_WITH_CUDA
      // gpu/: dense on an NVIDIA GPU, K/V stored as f32 / f16 / bf16 (float32 accumulation).
      // Without a usable device, construction throws "dense-cuda: no CUDA device (...)".
      {"dense-cuda", false,
       [](size_t) { return std::make_unique<gpu::DenseCudaBackend>(gpu::KvDtype::kF32); }},
      {"dense-cuda-f16", false,
       [](size_t) { return std::make_unique<gpu::DenseCudaBackend>(gpu::KvDtype::kF16); }},
      {"dense-cuda-bf16", false,
       [](size_t) { return std::make_unique<gpu::DenseCudaBackend>(gpu::KvDtype::kBf16); }},
      // Exact HSR decode for ReLU^alpha on the GPU (scan filter, compaction, sparse gather).
      {"hsr-cuda", false,
       [](size_t) { return std::make_unique<gpu::HsrCudaBackend>(gpu::KvDtype::kF32); }},
      {"hsr-cuda-f16", false,
       [](size_t) { return std::make_unique<gpu::HsrCudaBackend>(gpu::KvDtype::kF16); }},
      {"hsr-cuda-bf16", false,
       [](size_t) { return std::make_unique<gpu::HsrCudaBackend>(gpu::KvDtype::kBf16); }},
      // The same with the certified int8 sketch8 filter (reads ~1/2 of K's f16 bytes), the
      // scan's exact recheck of its candidates: the same reported set as hsr-cuda*.
      {"hsr-cuda-sketch", false,
       [](size_t) {
         return std::make_unique<gpu::HsrCudaBackend>(gpu::KvDtype::kF32, gpu::HsrFilter::kSketch);
       }},
      {"hsr-cuda-sketch-f16", false,
       [](size_t) {
         return std::make_unique<gpu::HsrCudaBackend>(gpu::KvDtype::kF16, gpu::HsrFilter::kSketch);
       }},
      {"hsr-cuda-sketch-bf16", false,
       [](size_t) {
         return std::make_unique<gpu::HsrCudaBackend>(gpu::KvDtype::kBf16,
                                                      gpu::HsrFilter::kSketch);
       }},
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

size_t BackendThreads(std::string_view name, size_t threads) {
  return Find(name).multithreaded ? threads : 1;
}

std::vector<std::string> ParseBackendList(std::string_view list) {
  std::vector<std::string> out;
  for (const std::string& name : SplitComma(list)) {
    HSR_CHECK(!name.empty(), "backend: expected a comma-separated list of {}, got an empty name",
              fmt::join(BackendNames(), ", "));
    Find(name);
    HSR_CHECK(std::find(out.begin(), out.end(), name) == out.end(),
              "backend: expected each backend once, got '{}' twice", name);
    out.push_back(name);
  }
  return out;
}

std::string SpeedupBaseline(std::string_view name) {
  if (name == "dense-ref") return "";
  if (name == "dense-hwy") return "dense-ref";
  return "dense-hwy";
}

std::string DefaultBackendList() { return HSR_HAVE_DENSE_HWY ? "dense-hwy" : "dense-ref"; }

std::string CpuTargetName() {
#if HSR_HAVE_DENSE_HWY
  return DenseHwyTargetName();
#else
  return HighwayTargetName();
#endif
}

}  // namespace hsr::sim
