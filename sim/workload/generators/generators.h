// Factories of the workload kinds beyond gaussian, one file each in sim/workload/generators/; the
// kind table in sim/workload/workload.cc is the only caller. Each throws hsr::Error on a bad spec.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "sim/workload/workload.h"

namespace hsr::sim {

std::unique_ptr<WorkloadSource> MakeClusteredSource(const WorkloadSpec& spec);  // clustered.cc
std::unique_ptr<WorkloadSource> MakeLowRankSource(const WorkloadSpec& spec);    // lowrank.cc
std::unique_ptr<WorkloadSource> MakePlantedSource(const WorkloadSpec& spec);    // planted.cc
std::unique_ptr<WorkloadSource> MakeSinksSource(const WorkloadSpec& spec);      // sinks.cc
// fitted:npy:DIR,... (fitted.cc): a generative model fitted to one recorded head.
std::unique_ptr<WorkloadSource> MakeFittedSource(const WorkloadSpec& spec);
// npy:DIR, npz:FILE, safetensors:FILE (recorded.cc); spec.kind selects the loader.
std::unique_ptr<WorkloadSource> MakeRecordedSource(const WorkloadSpec& spec);

// How close a `fitted` model is to the recording it was fitted to, in sim::Inspect's numbers
// (sim/inspect/inspect.h): the pooled scaled-score mean / std over sampled queries and all their
// visible keys, the mean fraction of the visible keys reported at the paper threshold
// b = mu + sigma sqrt(0.4 ln n_visible), the mean softmax mass above that b, and the median
// fraction of the visible keys a query needs for softmax err = kFittedCompareErr (the true
// minimum: the fewest top keys holding 1 - err of the mass; and what hsr-cpu's err= path reads,
// verify/keys_needed.h). The fitted side is drawn at the recording's n (the spec's n and m are
// replaced: m = 64 queries, each seeing all n keys), the recorded side is the recorded head with
// every query row (causal; 64 sampled from the second half, seeing n/2..n keys). Throws
// hsr::Error on a bad spec.
inline constexpr double kFittedCompareErr = 1e-3;
struct FittedComparison {
  std::string recorded, fitted;  // descriptions of the two workloads compared
  size_t n = 0;                  // recorded n = fitted n
  size_t rank_q = 0, rank_k = 0, rank_v = 0;  // principal components kept
  std::vector<size_t> sink_keys;              // recorded keys copied as sinks
  double rec_mean = 0, rec_std = 0, rec_paper = 0, rec_mass = 0, rec_need = 0, rec_engine = 0;
  double fit_mean = 0, fit_std = 0, fit_paper = 0, fit_mass = 0, fit_need = 0, fit_engine = 0;
  std::string Format() const;  // one line
};
FittedComparison CompareFittedToRecording(const WorkloadSpec& spec);

}  // namespace hsr::sim
