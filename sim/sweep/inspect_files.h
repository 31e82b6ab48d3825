// Per-head "keys needed for softmax err=E" files of an `hsr sweep`, read by `hsr report`
// (sim/report/inspect_section.h).
//
// Once per distinct workload of the grid whose kind is recorded (npy, npz, safetensors) or
// fitted, and only when the grid's attention list holds softmax, the sweep runs sim::Inspect
// (the function behind `hsr inspect SPEC --err E --format json`) with E = kSweepInspectErr and
// kSweepInspectQueries sampled query rows per head, and writes InspectionToJson plus
// "grid_workloads" (the grid's specs that map to it), "queries" and "seconds" to
// DIR/inspect/NAME.json (SweepInspectFileName) atomically (temporary file, rename). An existing
// file is kept (resume).
// What is inspected: a recorded spec as it is, with m=all unless it sets m (as `hsr inspect`);
// a fitted:npy:DIR[,layer=L] spec: the recording it is fitted to, npy:DIR[,layer=L],m=all, every
// head of the layer (the fitted model copies one of them), so the numbers are the real data's.
// For each fitted grid workload the file also gets "fitted_checks": [{"workload": the grid spec,
// "recorded_n", "fitted" (its description at the recording's n), "recorded" / "fitted_stats":
// {paper, mass_above_b, keys_true, keys_engine}}], CompareFittedToRecording's numbers (sim/
// workload/generators/generators.h): how close the model is to its recording at the recording's
// n, which `hsr report` sets beside how far the rows extrapolate.
// Failures (unreadable recording, I/O) are returned as warnings; the sweep goes on.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "sim/sweep/grid.h"
#include "sim/workload/workload.h"

namespace hsr::sim {

inline constexpr double kSweepInspectErr = 1e-3;
// 64 queries x every visible key per head: about 0.2 s on a 4-head 2048-token layer (1 thread).
inline constexpr size_t kSweepInspectQueries = 64;

// The spec to inspect for one grid workload spec, or nullopt when the kind is not recorded or
// fitted (generated data is not inspected). Throws hsr::Error on a malformed spec.
std::optional<WorkloadSpec> SweepInspectSpec(const std::string& grid_workload);

// "npy_work_shared_workloads_tinylm-code-2k_layer_3_m_all-0123abcd.json" for the inspected
// spec's text ("npy:/work/...,layer=3,m=all"): every run of characters outside [A-Za-z0-9.-]
// as one '_', cut to 80 characters, plus 8 hex digits of its StableHash (distinct inspected
// specs get distinct names; two grid workloads with one recording share one file).
std::string SweepInspectFileName(const std::string& inspect_spec_text);

struct SweepInspectResult {
  size_t written = 0, skipped = 0;  // skipped: the file existed
  std::vector<std::string> logs;    // one line per written file
  std::vector<std::string> warnings;
};

// Writes DIR/inspect/*.json as above. Never throws for a workload's failure (a warning).
SweepInspectResult WriteSweepInspections(const SweepGrid& grid, const std::string& dir);

}  // namespace hsr::sim
