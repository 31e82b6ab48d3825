// faiss: a PEER adapter over faiss::IndexFlatIP::range_search (libfaiss-dev, optional), for
// side-by-side timing in `hsr bench index` only; not a product path (docs/design.md §2).
//
// Semantics: FAISS reports { j : <q, k_j> > radius } on the UNSCALED vectors with its own dot
// product (BLAS or its SIMD kernel), so the adapter queries radius = b / scale. That is the
// half-space of docs/design.md §1 in exact arithmetic, but fl(<q,k>) > fl(b/scale) and
// ScoreRun(q, k) = fl(scale <q,k>) > b can disagree for keys within a few ulps of the threshold:
// its set may differ from scan's at the rounding boundary. `hsr bench index` counts how often
// (differing queries and keys) and does not fail on it; every core index must match exactly.
//
// Threads: FAISS parallelises with OpenMP (process-global thread count, set per call to the
// adapter's `threads`); range_search over one query runs on one thread (FAISS splits work by
// query), so threads only help QueryBatch. IndexFlatIP::range_search takes ONE radius per call:
// QueryBatch makes one call per run of equal thresholds (per-query `paper` thresholds: one call
// per query; a fixed b=VALUE: one call for all m queries, FAISS's BLAS path when m >= 20).
// Counters: FAISS scores every key, so keys_bounded = candidates = n and bytes_read = 4 n d per
// query. Insert: O(d) amortised (IndexFlat::add). Memory: 4 n d bytes.
// Built only when CMake found faiss (HSR_WITH_FAISS); FaissAvailable() says which.
#pragma once

#include <cstddef>
#include <memory>

#include "core/index/half_space_index.h"

namespace hsr::sim {

// True when this build links FAISS.
bool FaissAvailable();

// The adapter (Name() == "faiss"); throws hsr::Error when FaissAvailable() is false.
std::unique_ptr<HalfSpaceIndex> MakeFaissIndex(size_t threads);

}  // namespace hsr::sim
