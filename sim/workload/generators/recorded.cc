// Recorded workloads: a model's Q, K, V through sim/workload/io (LoadRecordedDir / Npz /
// Safetensors) mapped into a Workload.
//   npy:DIR[,layer=L][,head=H][,m=M|all]      folder with manifest.json (sim/workload/data)
//   npz:FILE[,head=H][,m=M|all]               arrays q, k, v (npy:FILE.npz works too)
//   safetensors:FILE[,q=NAME,k=NAME,v=NAME][,head=H][,m=M|all]
// q_heads / kv_heads / n / d / dv come from the tensors; head=H keeps one query head (and its KV
// head). m (default 1) keeps the LAST m query rows (m=1: the decode query at position n-1;
// m=all: every row, for prefill); with causal data query row i of those m sees keys
// j <= i + (n - m), exactly the recording's mask. The workload carries the recorded scale and
// causal flag (recorded = true); seed is 0 (the data is fixed). A relative path is found by
// ResolveWorkloadPath (workload.h); Describe() keeps it as written.
#include <algorithm>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "core/base/error.h"
#include "sim/workload/generators/generators.h"
#include "sim/workload/generators/spec_reader.h"
#include "sim/workload/io/io_util.h"
#include "sim/workload/io/recorded.h"

namespace hsr::sim {
namespace {

class RecordedSource final : public WorkloadSource {
 public:
  explicit RecordedSource(const WorkloadSpec& spec) : kind_(spec.kind) {
    SpecReader r(spec);
    const auto path = r.Text("path");
    HSR_CHECK(path.has_value(), "workload '{}': expected {}:PATH[,key=value...], got no path",
              kind_, kind_);
    path_ = *path;
    file_ = ResolveWorkloadPath(path_, fmt::format("workload '{}'", kind_));
    npz_ = kind_ == "npz" || (kind_ == "npy" && path_.size() > 4 &&
                              path_.compare(path_.size() - 4, 4, ".npz") == 0);
    if (kind_ == "npy" && !npz_) {
      if (r.Has("layer")) layer_ = r.Size("layer", 0, 0);
      else r.Size("layer", 0, 0);
    }
    if (r.Has("head")) head_ = r.Size("head", 0, 0);
    else r.Size("head", 0, 0);
    if (kind_ == "safetensors") {
      for (size_t t = 0; t < 3; ++t) {
        const char* key = t == 0 ? "q" : t == 1 ? "k" : "v";
        if (auto name = r.Text(key)) names_[t] = *name;
      }
    }
    const auto m = r.Text("m");
    if (m && *m == "all") {
      m_ = 0;
    } else {
      m_ = r.Size("m", 1, 1);
    }
    r.CheckNoUnknownKeys();
    if (kind_ == "npy" && !npz_) {
      // Resolve the default layer now so that Describe() is canonical (and fail early).
      const std::string manifest = (std::filesystem::path(file_) / "manifest.json").string();
      const std::vector<uint8_t> text = ReadFileBytes(manifest, "workload 'npy'");
      const RecordedManifest man = ParseManifest(
          std::string_view(reinterpret_cast<const char*>(text.data()), text.size()), manifest);
      if (!layer_) layer_ = man.layers.front();
    }
  }

  std::string Describe() const override {
    std::string s = fmt::format("{}:{}", kind_, path_);
    if (layer_) s += fmt::format(",layer={}", *layer_);
    if (kind_ == "safetensors") s += fmt::format(",q={},k={},v={}", names_[0], names_[1], names_[2]);
    s += head_ ? fmt::format(",head={}", *head_) : std::string(",head=all");
    s += m_ == 0 ? std::string(",m=all") : fmt::format(",m={}", m_);
    return s;
  }

  Workload Make() const override {
    RecordedHeads rh = kind_ == "safetensors" ? LoadRecordedSafetensors(file_, names_, head_)
                       : npz_                 ? LoadRecordedNpz(file_, head_)
                                              : LoadRecordedDir(file_, layer_, head_);
    Workload w;
    w.q_heads = rh.q.heads();
    w.kv_heads = rh.k.heads();
    w.n = rh.k.rows();
    w.d = rh.k.cols();
    w.dv = rh.v.cols();
    const size_t rows = rh.q.rows();
    w.m = m_ == 0 ? rows : m_;
    HSR_CHECK(w.m <= rows, "workload '{}': expected m <= {} (recorded query rows), got m={}",
              kind_, rows, w.m);
    HSR_CHECK(w.kv_heads > 0 && w.q_heads % w.kv_heads == 0,
              "workload '{}': expected q heads to be a multiple of kv heads, got {} and {}", kind_,
              w.q_heads, w.kv_heads);
    if (w.m == rows) {
      w.q = std::move(rh.q);
    } else {
      w.q = Tensor(w.q_heads, w.m, w.d);
      for (size_t h = 0; h < w.q_heads; ++h) {
        std::memcpy(w.q.Matrix(h).Row(0), rh.q.Matrix(h).Row(rows - w.m),
                    w.m * w.d * sizeof(float));
      }
    }
    w.k = std::move(rh.k);
    w.v = std::move(rh.v);
    w.scale = rh.scale;
    w.causal = rh.causal;
    w.recorded = true;
    w.seed = 0;
    w.description = Describe();
    return w;
  }

 private:
  std::string kind_, path_, file_;  // path as written, the file or folder it resolved to
  bool npz_ = false;
  std::optional<size_t> layer_, head_;
  std::array<std::string, 3> names_ = {"q", "k", "v"};
  size_t m_ = 1;  // 0: all rows
};

}  // namespace

std::unique_ptr<WorkloadSource> MakeRecordedSource(const WorkloadSpec& spec) {
  return std::make_unique<RecordedSource>(spec);
}

}  // namespace hsr::sim
