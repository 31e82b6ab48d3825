#include "sim/workload/workload.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <functional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/base/error.h"
#include "sim/workload/generators/generators.h"
#include "sim/workload/generators/spec_reader.h"

namespace hsr::sim {
namespace {

// gaussian: Q, K, V iid N(0, 1). Streams: Q = 0, K = 1, V = 2 (K does not depend on m, Q not
// on n, so sweeping n extends the same keys).
class GaussianSource final : public WorkloadSource {
 public:
  explicit GaussianSource(const WorkloadSpec& spec) {
    SpecReader r(spec);
    shape_.Read(r);
    r.CheckNoUnknownKeys();
    shape_.Check("gaussian");
  }

  std::string Describe() const override { return shape_.Describe("gaussian"); }

  Workload Make() const override {
    Workload w = shape_.Allocate(Describe());
    FillGaussian(shape_.seed, 0, w.q.flat());
    FillGaussian(shape_.seed, 1, w.k.flat());
    FillGaussian(shape_.seed, 2, w.v.flat());
    return w;
  }

 private:
  SyntheticShape shape_;
};

struct KindEntry {
  const char* name;
  std::function<std::unique_ptr<WorkloadSource>(const WorkloadSpec&)> make;
};

// The one table of workload kinds (generators in sim/workload/generators/*.cc).
const std::vector<KindEntry>& Kinds() {
  static const std::vector<KindEntry> kinds = {
      {"gaussian",
       [](const WorkloadSpec& s) { return std::make_unique<GaussianSource>(s); }},
      {"clustered", MakeClusteredSource},
      {"lowrank", MakeLowRankSource},
      {"planted", MakePlantedSource},
      {"sinks", MakeSinksSource},
      {"fitted", MakeFittedSource},
      {"npy", MakeRecordedSource},
      {"npz", MakeRecordedSource},
      {"safetensors", MakeRecordedSource},
  };
  return kinds;
}

}  // namespace

bool IsPathKind(std::string_view kind) {
  return kind == "npy" || kind == "npz" || kind == "safetensors";
}

std::string ResolveWorkloadPath(const std::string& path, std::string_view what) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path p(path);
  if (p.is_absolute() || fs::exists(p, ec)) return path;
  std::vector<fs::path> roots;
  roots.push_back(fs::current_path(ec));
  roots.emplace_back(HSR_SOURCE_DIR);
  std::array<char, 4096> exe{};
  const ssize_t len = ::readlink("/proc/self/exe", exe.data(), exe.size() - 1);
  if (len > 0) {
    roots.push_back(fs::path(std::string(exe.data(), static_cast<size_t>(len))).parent_path() /
                    ".." / "share" / "hsr");
  }
  for (size_t i = 1; i < roots.size(); ++i) {
    if (fs::exists(roots[i] / p, ec)) return (roots[i] / p).lexically_normal().string();
  }
  std::string places;
  for (const auto& r : roots) places += (places.empty() ? "" : ", ") + r.lexically_normal().string();
  Fail("{}: expected {} relative to one of [{}] (the current directory, the source tree, the "
       "install's share/hsr), got none there",
       what, path, places);
}

bool WorkloadSpec::Has(std::string_view key) const { return Get(key).has_value(); }

std::optional<std::string> WorkloadSpec::Get(std::string_view key) const {
  for (const auto& [k, v] : keys) {
    if (k == key) return v;
  }
  return std::nullopt;
}

void WorkloadSpec::Set(std::string_view key, std::string value) {
  for (auto& [k, v] : keys) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  keys.emplace_back(std::string(key), std::move(value));
}

std::string WorkloadSpec::ToString() const {
  std::string s = kind;
  char sep = ':';
  for (const auto& [k, v] : keys) {
    s += sep + (k == "path" ? v : k + "=" + v);
    sep = ',';
  }
  return s;
}

WorkloadSpec ParseWorkloadSpec(std::string_view spec) {
  WorkloadSpec out;
  const size_t colon = spec.find(':');
  out.kind = std::string(spec.substr(0, colon));
  HSR_CHECK(!out.kind.empty() && out.kind.find_first_of("=,") == std::string::npos,
            "workload: expected KIND[:key=value,...] such as 'gaussian:n=65536,d=128', got '{}'",
            spec);
  if (colon == std::string_view::npos) return out;
  std::string_view rest = spec.substr(colon + 1);
  while (true) {
    const size_t comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    const size_t eq = item.find('=');
    if (out.keys.empty() && eq == std::string_view::npos &&
        (IsPathKind(out.kind) || out.kind == "fitted") && !item.empty()) {
      // npy:DIR, npz:FILE, safetensors:FILE; fitted:npy:DIR (path "npy:DIR")
      out.keys.emplace_back("path", std::string(item));
      if (comma == std::string_view::npos) break;
      rest = rest.substr(comma + 1);
      continue;
    }
    HSR_CHECK(eq != std::string_view::npos && eq > 0,
              "workload: expected key=value items after '{}:', got '{}' in '{}'", out.kind, item,
              spec);
    const std::string key(item.substr(0, eq));
    HSR_CHECK(!out.Has(key), "workload: expected each key once, got '{}' twice in '{}'", key, spec);
    out.keys.emplace_back(key, std::string(item.substr(eq + 1)));
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return out;
}

std::vector<std::string> WorkloadKinds() {
  std::vector<std::string> names;
  for (const auto& k : Kinds()) names.emplace_back(k.name);
  return names;
}

std::unique_ptr<WorkloadSource> MakeWorkloadSource(const WorkloadSpec& spec) {
  for (const auto& k : Kinds()) {
    if (spec.kind == k.name) return k.make(spec);
  }
  Fail("workload: expected a kind among {}, got '{}'", fmt::join(WorkloadKinds(), ", "),
       spec.kind);
}

}  // namespace hsr::sim
