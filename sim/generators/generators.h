// Factories of the workload kinds beyond gaussian, one file each in sim/generators/; the kind
// table in sim/workload.cc is the only caller. Each throws hsr::Error on a bad spec.
#pragma once

#include <memory>

#include "sim/workload.h"

namespace hsr::sim {

std::unique_ptr<WorkloadSource> MakeClusteredSource(const WorkloadSpec& spec);  // clustered.cc
std::unique_ptr<WorkloadSource> MakeLowRankSource(const WorkloadSpec& spec);    // lowrank.cc
std::unique_ptr<WorkloadSource> MakePlantedSource(const WorkloadSpec& spec);    // planted.cc
std::unique_ptr<WorkloadSource> MakeSinksSource(const WorkloadSpec& spec);      // sinks.cc
// npy:DIR, npz:FILE, safetensors:FILE (recorded.cc); spec.kind selects the loader.
std::unique_ptr<WorkloadSource> MakeRecordedSource(const WorkloadSpec& spec);

}  // namespace hsr::sim
