#include "sim/sweep/inspect_files.h"

#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <new>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/base/error.h"
#include "sim/inspect/inspect.h"
#include "sim/machine/timing.h"
#include "sim/workload/generators/generators.h"

namespace hsr::sim {
namespace {

namespace fs = std::filesystem;

// Writes path via path.tmp + rename (a reader never sees half a file).
void WriteAtomically(const fs::path& path, const std::string& data) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << data;
    f.close();
    HSR_CHECK(f.good(), "sweep: expected to write {}, got an I/O error", tmp.string());
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  HSR_CHECK(!ec, "sweep: expected to rename {} to {}, got {}", tmp.string(), path.string(),
            ec.message());
}

}  // namespace

std::optional<WorkloadSpec> SweepInspectSpec(const std::string& grid_workload) {
  const WorkloadSpec spec = ParseWorkloadSpec(grid_workload);
  WorkloadSpec out;
  if (IsPathKind(spec.kind)) {
    out = spec;
  } else if (spec.kind == "fitted") {
    const auto path = spec.Get("path");
    HSR_CHECK(path && path->rfind("npy:", 0) == 0,
              "sweep: workload '{}': expected fitted:npy:DIR, got no npy: path", grid_workload);
    out = ParseWorkloadSpec(*path);
    if (const auto layer = spec.Get("layer")) out.Set("layer", *layer);
  } else {
    return std::nullopt;
  }
  if (!out.Has("m")) out.Set("m", "all");
  return out;
}

std::string SweepInspectFileName(const std::string& inspect_spec_text) {
  std::string name;
  for (char c : inspect_spec_text) {
    const bool keep = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-';
    if (keep) {
      name += c;
    } else if (!name.empty() && name.back() != '_') {
      name += '_';
    }
  }
  if (name.size() > 80) name.resize(80);
  return name + "-" + StableHash(inspect_spec_text).substr(0, 8) + ".json";
}

SweepInspectResult WriteSweepInspections(const SweepGrid& grid, const std::string& dir) {
  SweepInspectResult res;
  bool softmax = false;
  for (const auto& a : grid.attention) softmax = softmax || a == "softmax";
  if (!softmax) return res;
  // Inspected spec text -> (spec, grid workloads mapping to it), in grid order of first use.
  std::vector<std::string> order;
  std::map<std::string, std::pair<WorkloadSpec, std::vector<std::string>>> todo;
  for (const auto& gw : grid.workload) {
    try {
      const auto spec = SweepInspectSpec(gw);
      if (!spec) continue;
      const std::string text = spec->ToString();
      auto [it, fresh] = todo.try_emplace(text, *spec, std::vector<std::string>{});
      if (fresh) order.push_back(text);
      it->second.second.push_back(gw);
    } catch (const Error& e) {
      res.warnings.push_back(fmt::format("inspect {}: {}", gw, e.what()));
    }
  }
  if (order.empty()) return res;
  const fs::path folder = fs::path(dir) / "inspect";
  for (const auto& text : order) {
    const auto& [spec, grid_workloads] = todo.at(text);
    const fs::path path = folder / SweepInspectFileName(text);
    std::error_code ec;
    if (fs::exists(path, ec)) {
      ++res.skipped;
      continue;
    }
    try {
      const double t0 = NowMicros();
      fs::create_directories(folder, ec);
      HSR_CHECK(!ec, "sweep: expected to create {}, got {}", folder.string(), ec.message());
      const Workload w = MakeWorkloadSource(spec)->Make();
      InspectOptions options;
      options.queries = kSweepInspectQueries;
      options.cert_err = kSweepInspectErr;
      const Inspection in = Inspect(w, options);
      nlohmann::json j = InspectionToJson(in);
      for (const auto& gw : grid_workloads) {
        const WorkloadSpec gs = ParseWorkloadSpec(gw);
        if (gs.kind != "fitted") continue;
        const FittedComparison c = CompareFittedToRecording(gs);
        const auto side = [](double paper, double mass, double need, double engine) {
          return nlohmann::json{{"paper", paper}, {"mass_above_b", mass}, {"keys_true", need},
                                {"keys_engine", engine}};
        };
        j["fitted_checks"].push_back(
            {{"workload", gw},
             {"recorded_n", c.n},
             {"fitted", c.fitted},
             {"err", kFittedCompareErr},
             {"recorded", side(c.rec_paper, c.rec_mass, c.rec_need, c.rec_engine)},
             {"fitted_stats", side(c.fit_paper, c.fit_mass, c.fit_need, c.fit_engine)}});
      }
      const double seconds = (NowMicros() - t0) / 1e6;
      j["grid_workloads"] = grid_workloads;
      j["queries"] = kSweepInspectQueries;
      j["seconds"] = seconds;
      WriteAtomically(path, j.dump() + "\n");
      ++res.written;
      res.logs.push_back(fmt::format("inspect {}: {} heads, keys for err={:g} in {:.2f}s -> {}",
                                     text, in.heads.size(), kSweepInspectErr, seconds,
                                     path.string()));
    } catch (const Error& e) {
      res.warnings.push_back(fmt::format("inspect {}: {}", text, e.what()));
    } catch (const std::bad_alloc&) {
      res.warnings.push_back(fmt::format("inspect {}: out of memory", text));
    } catch (const std::exception& e) {
      res.warnings.push_back(fmt::format("inspect {}: unexpected error: {}", text, e.what()));
    }
  }
  return res;
}

}  // namespace hsr::sim
