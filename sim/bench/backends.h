// The one place that knows which attention backends are built (STYLE.md §1, like FAISS's
// GpuCloner.h): CPU backends always, GPU backends under HSR_WITH_CUDA (later).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/attention/backend.h"

namespace hsr::sim {

// Names accepted by MakeBackend, in registration order, e.g. {"dense-ref", "dense-hwy"}.
std::vector<std::string> BackendNames();

// The names whose backend can run here: BackendNames() minus GPU backends when no CUDA device
// is usable (constructing those throws "<name>: no CUDA device (...)").
std::vector<std::string> AvailableBackendNames();

// threads >= 1. Throws hsr::Error "backend: expected one of dense-ref, dense-hwy, got 'x'".
std::unique_ptr<AttentionBackend> MakeBackend(std::string_view name, size_t threads);

// Threads the backend actually uses when asked for `threads` (dense-ref is single-threaded).
size_t BackendThreads(std::string_view name, size_t threads);

// "a,b,c" -> {"a","b","c"}; each must be a known backend, no duplicates, none empty.
std::vector<std::string> ParseBackendList(std::string_view list);

// The backend a row's speedup is measured against, or "" for none: dense-hwy against
// dense-ref, every other non-reference backend against dense-hwy.
std::string SpeedupBaseline(std::string_view name);

// The default --backend list: the fastest dense CPU backend built.
std::string DefaultBackendList();

// Highway target the dense-hwy dispatcher picks (e.g. "AVX3"), or sim's own when absent.
std::string CpuTargetName();

}  // namespace hsr::sim
